"""`qcmanager` builds criteria in the QC template builder: strict rule types (> and <) and a limit per
dose volume (endotoxins < 175/V EU/mL, V the product's maximum volume), previewed as the batch will
show them and saved as the API takes them."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import login, shot


def _line(page, name: str):
    return page.locator("#qc-lines-body tr", has=page.locator(".rp-qc-test-name", has_text=name)).first


def test_builder_offers_strict_rules_and_a_per_volume_limit(app, browser, base_url, committed):
    from app.masterdata.models import Product
    from app.qc.models import ProductQcTemplate

    product_id = committed.execute(select(Product.id).where(Product.code == "FDG")).scalar_one()
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    login(page, base_url, "qcmanager")
    page.goto(f"{base_url}/products/{product_id}/qc-template")
    page.fill("#new-version-summary", "Endotoxin limit per dose volume, RCP strictly above 95 %")
    with page.expect_navigation():
        page.click(".rp-qc-new-version")

    # Endotoxins: "< 175/V" per volume, with the arithmetic from FDG's 15 mL.
    _line(page, "Bacterial Endotoxins").locator(".js-edit").click()
    expect(page.locator("#criteria-dialog")).to_be_visible()
    page.select_option("#cb-rule-type", "MAX")
    page.uncheck("#cb-per-volume")
    expect(page.locator("#cb-preview")).to_have_text("≤175 EU/mL (result rounded to 1 decimal)")
    page.select_option("#cb-rule-type", "LT")
    page.check("#cb-per-volume")
    page.fill("#cb-max", "175")
    expect(page.locator("#cb-preview")).to_have_text("< 175/15 mL = 11.7 EU/mL (result rounded to 1 decimal)")
    expect(page.locator("#cb-per-volume-help")).to_contain_text("V = 15 mL")
    shot(page, "e2e-qc-builder-per-volume")
    page.click("#cb-apply")
    expect(_line(page, "Bacterial Endotoxins").locator(".rp-qc-criteria")).to_have_text(
        "< 175/15 mL = 11.7 EU/mL (result rounded to 1 decimal)"
    )

    # Radiochemical purity strictly above 95 %: the per-volume box is offered only for upper limits.
    _line(page, "Radiochemical Purity").locator(".js-edit").click()
    expect(page.locator("#criteria-dialog")).to_be_visible()
    page.select_option("#cb-rule-type", "GT")
    expect(page.locator("#cb-per-volume")).to_be_hidden()
    page.fill("#cb-min", "95")
    expect(page.locator("#cb-preview")).to_contain_text("> 95%")
    page.click("#cb-apply")
    expect(page.locator("#criteria-dialog")).to_be_hidden()
    with page.expect_navigation():
        page.click("#qc-save-button")
    assert "Draft saved" in page.inner_text(".alert-success")
    shot(page, "e2e-qc-builder-saved")
    ctx.close()

    committed.expire_all()
    draft = committed.execute(
        select(ProductQcTemplate).where(
            ProductQcTemplate.product_id == product_id, ProductQcTemplate.status == "DRAFT"
        )
    ).scalar_one()
    rules = {ln.test_definition.code: ln.spec_rule for ln in draft.lines}
    assert (rules["ENDOTOXIN"].rule_type, rules["ENDOTOXIN"].per_volume) == ("LT", True)
    assert rules["ENDOTOXIN"].max_value == 175
    assert (rules["RCP"].rule_type, rules["RCP"].min_value, rules["RCP"].per_volume) == ("GT", 95, False)

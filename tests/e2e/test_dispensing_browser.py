"""Browser: `disp` dispenses the doses of a released batch with calibrator readings and prints the
label sheet; `logi` packs and dispatches; the hospital confirms delivery; the genealogy leads from
the material lot to the hospital, and the recall view lists what went where."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import ARTIFACTS
from tests.e2e.conftest import login, shot


def _released_batch_with_lot_and_order(app) -> dict:
    from app.core.extensions import db
    from app.dispensing import materials
    from tests.batch_factories import actor, forge_state
    from tests.dispensing_factories import customer, material_lot, order_into, released_batch

    with app.test_request_context():
        lot = material_lot("E2E-KIT", "E2E-LOT-77")
        batch = released_batch()
        forge_state(batch, "IN_PRODUCTION")
        materials.record_material_lot(batch.id, lot.id, "1", actor("prod"))
        forge_state(db.session.get(type(batch), batch.id), "RELEASED")
        cust = customer()
        order_into(batch, [400, 300], cust=cust, ref="KFSH-E2E-9")
        return {
            "batch_id": batch.id,
            "batch_no": batch.batch_no,
            "lot_id": lot.id,
            "customer_id": cust.id,
            "customer": cust.name,
        }


def _number(text: str) -> str:
    return re.sub(r"[^0-9.]", "", text.split("MBq")[0])


def test_dispense_label_pack_dispatch_deliver_and_trace(page, base_url, app):
    data = _released_batch_with_lot_and_order(app)

    # --- dispensing -------------------------------------------------------------------------
    login(page, base_url, "disp")
    page.goto(f"{base_url}/dispensing/batches/{data['batch_id']}")
    page.get_by_role("button", name=re.compile("Plan doses from orders")).click()
    rows = page.locator("tr[data-dose]")
    expect(rows).to_have_count(2)
    # in the person's unit; a vial above 10,000 MBq reads in GBq
    expect(page.locator("[data-testid=vial-remaining]")).to_contain_text(re.compile(r"\d (MBq|GBq)$"))
    shot(page, "dispensing-planned")
    for _ in range(2):
        row = page.locator("tr[data-dose]:has(input[name=reading])").first
        draw = row.locator("td").nth(3).inner_text()
        row.locator("input[name=reading]").fill(_number(draw))
        with page.expect_navigation():
            row.get_by_role("button", name="Dispense").click()
        expect(page.locator(".alert-success")).to_contain_text("dispensed")
    expect(page.locator("tr[data-dose]:has(input[name=reading])")).to_have_count(0)
    expect(page.locator("h1")).to_contain_text("Dispensing In Progress")
    shot(page, "dispensing-done")

    href = page.locator("[data-testid=print-labels]").get_attribute("href")
    pdf = page.request.get(f"{base_url}{href}")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    (ARTIFACTS / "e2e-dose-labels.pdf").write_bytes(pdf.body())
    import pypdfium2 as pdfium

    pdfium.PdfDocument(pdf.body())[0].render(scale=1.5).to_pil().save(ARTIFACTS / "e2e-dose-labels.png")
    page.get_by_role("button", name=re.compile("Mark batch dispensed")).click()
    expect(page.locator(".alert-success")).to_contain_text("complete")

    # --- packing and dispatch ---------------------------------------------------------------
    page.context.clear_cookies()
    login(page, base_url, "logi")
    page.goto(f"{base_url}/logistics/shipments/")
    page.select_option("#customer_id", str(data["customer_id"]))
    page.fill("#courier", "MedExpress van 3")
    page.get_by_role("button", name=re.compile("Plan shipment")).click()
    expect(page.locator(".alert-success")).to_contain_text("planned")
    expect(page.locator("input[name=dose_unit_ids]")).to_have_count(2)
    page.fill("#surface", "0.02")
    page.fill("#onem", "0.004")
    page.get_by_role("button", name=re.compile("Pack and seal")).click()
    expect(page.locator("body")).to_contain_text("UN 2915")
    expect(page.locator("body")).to_contain_text("II-YELLOW")
    page.get_by_role("button", name=re.compile("Hand to courier")).click()
    expect(page.locator(".alert-success")).to_contain_text("courier")
    shipment_url = page.url
    shot(page, "shipment-dispatched")
    page.goto(f"{base_url}/logistics/shipments/")
    shot(page, "shipments")

    # --- delivery by the hospital -----------------------------------------------------------
    page.context.clear_cookies()
    login(page, base_url, "hospital")
    page.goto(shipment_url)
    page.fill("#received_by", "Dr. Amal, hot lab")
    page.get_by_role("button", name=re.compile("Confirm delivery")).click()
    expect(page.locator(".alert-success")).to_contain_text("Delivery confirmed")
    body = page.locator("body")
    expect(body).to_contain_text("Delivered")
    shot(page, "shipment-delivered-hospital")
    assert "Tamimi" not in page.locator(".rp-page").inner_text()  # no staff names for the hospital

    # --- genealogy from the lot to the hospital, and the recall -----------------------------
    page.context.clear_cookies()
    login(page, base_url, "qp")
    page.goto(f"{base_url}/logistics/genealogy/?start=lot:{data['lot_id']}&direction=forward")
    body = page.locator("body")
    for text in ("E2E-LOT-77", data["batch_no"], "KFSH-E2E-9", "SHP-"):
        expect(body).to_contain_text(text)
    shot(page, "genealogy")

    with app.test_request_context():
        from app.logistics import recall
        from tests.batch_factories import actor

        opened = recall.open_recall(
            "LOT", data["lot_id"], "Supplier reports a bad precursor lot.", actor("qp")
        )
        recall_id = opened.id
    page.goto(f"{base_url}/logistics/recalls/{recall_id}")
    body = page.locator("body")
    expect(body).to_contain_text("KFSH-E2E-9")
    expect(body).to_contain_text("bad precursor lot")
    shot(page, "recall")

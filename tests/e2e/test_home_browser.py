"""Every demo user signs in, finds its first action on its home page and carries it out from there.
Screenshots of every home page go to test-artifacts/home-<user>.png."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, shot

NOW = dt.datetime.now(dt.UTC)


def section(page, key: str):
    return page.locator(f'section[data-section="{key}"]')


def first_action(page, key: str):
    return section(page, key).locator(".rp-home-item .btn").first


def test_prod_starts_production_from_home(page, base_url):
    from tests.batch_page_factories import journey

    batch = journey("SCHEDULED", start=NOW + dt.timedelta(hours=2))
    login(page, base_url, "prod")
    expect(section(page, "to_start")).to_contain_text(batch.batch_no)
    shot(page, "home-prod")
    with page.expect_navigation():
        first_action(page, "to_start").click()
    page.locator(".rp-next-button").click()
    dialog = page.locator("#rp-action-dialog")
    expect(dialog).to_contain_text("Start production")
    for box in dialog.locator("input[name=checklist]").all():
        box.check()
    dialog.locator("textarea[name=note]").fill("Target 1 irradiated 45 min; cassette lot FL-2291.")
    with page.expect_navigation():
        dialog.locator(".rp-action-submit").click()
    expect(page.locator(".rp-header-title .rp-badge")).to_contain_text("In Production")


def test_planner_schedules_a_planned_batch_from_home(page, base_url):
    from tests.batch_page_factories import journey

    batch = journey("PLANNED", start=NOW + dt.timedelta(hours=20))
    login(page, base_url, "planner")
    expect(section(page, "planned")).to_contain_text(batch.batch_no)
    expect(section(page, "windows")).to_be_visible()
    shot(page, "home-planner")
    with page.expect_navigation():
        first_action(page, "planned").click()
    page.locator(".rp-next-button").click()
    dialog = page.locator("#rp-action-dialog")
    for box in dialog.locator("input[name=checklist]").all():
        box.check()
    if dialog.locator("textarea[name=note]").count():
        dialog.locator("textarea[name=note]").fill("Hot cell 1 free from 02:00.")
    with page.expect_navigation():
        dialog.locator(".rp-action-submit").click()
    expect(page.locator(".rp-header-title .rp-badge")).to_contain_text("Scheduled")


def test_hospital_turns_its_held_reservation_into_an_order_from_home(page, base_url):
    from tests import order_factories as of

    window = of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))
    held = of.hold(window, 1, now=dt.datetime.now(dt.UTC))
    login(page, base_url, "hospital")
    expect(section(page, "holds")).to_contain_text(held.reference)
    expect(section(page, "holds")).to_contain_text("Held for you for")
    shot(page, "home-hospital")
    with page.expect_navigation():
        first_action(page, "holds").click()
    page.fill("input[name=hospital_order_reference]", "KF-HOME-E2E-1")
    page.fill("input[name=mbq]", "370")
    cal = (window.start_at + dt.timedelta(hours=1)).astimezone().strftime("%Y-%m-%dT%H:%M")
    page.fill("input[name=calibration_local]", cal)
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    expect(page.locator("body")).to_contain_text("KF-HOME-E2E-1")
    assert re.search(r"/orders/\d+", page.url), page.url


def test_qc_analyst_opens_the_results_to_enter(page, base_url):
    from tests.qc_factories import make_batch

    batch = make_batch("FDG", to="QC_PENDING")
    login(page, base_url, "qc")
    expect(section(page, "entry")).to_contain_text(batch.batch_no)
    shot(page, "home-qc")
    with page.expect_navigation():
        first_action(page, "entry").click()
    assert f"/batches/{batch.id}/qc" in page.url
    expect(page.locator("body")).to_contain_text("pH")


def test_qp_opens_the_review_of_the_oldest_batch(page, base_url):
    from tests.batch_page_factories import journey

    batch = journey("QP_REVIEW")
    login(page, base_url, "qp")
    expect(section(page, "release")).to_contain_text(batch.batch_no)
    expect(section(page, "release")).to_contain_text(re.compile(r"no exceptions|\d+ exceptions?"))
    shot(page, "home-qp")
    with page.expect_navigation():
        first_action(page, "release").click()
    assert f"/release/{batch.id}" in page.url
    expect(page.get_by_role("button", name=re.compile("Release"))).to_be_visible()


def test_dispensing_opens_the_dispensing_screen_of_a_released_batch(page, base_url):
    from tests.batch_page_factories import journey

    batch = journey("RELEASED")
    login(page, base_url, "disp")
    expect(section(page, "to_dispense")).to_contain_text(batch.batch_no)
    shot(page, "home-disp")
    with page.expect_navigation():
        first_action(page, "to_dispense").click()
    assert f"/dispensing/batches/{batch.id}" in page.url


def test_auditor_verifies_the_chain_from_home(page, base_url):
    login(page, base_url, "auditor")
    expect(section(page, "audit")).to_contain_text("Hash chain")
    shot(page, "home-auditor")
    with page.expect_navigation():
        first_action(page, "audit").click()
    with page.expect_navigation():
        page.locator("form[action$='/audit/verify'] button").click()
    expect(page.locator(".alert").first).to_be_visible()


def test_qc_manager_opens_a_draft_template_from_home(page, base_url):
    from sqlalchemy import select

    from app.core.extensions import db
    from app.masterdata.models import Product
    from app.qc import templates as qc_templates
    from tests.batch_factories import actor, ensure_master_data

    ensure_master_data()
    product = db.session.execute(select(Product).where(Product.code == "FDG")).scalar_one()
    qc_templates.create_version(product.id, change_summary="Ph. Eur. 1325 update", actor=actor("QC Manager"))
    login(page, base_url, "qcmanager")
    expect(section(page, "drafts")).to_contain_text(product.name_en)
    shot(page, "home-qcmanager")
    with page.expect_navigation():
        first_action(page, "drafts").click()
    assert f"/qc/templates/{product.id}" in page.url, page.url
    assert page.locator(".alert-danger").count() == 0


def test_admin_sees_a_product_without_an_active_qc_template_and_opens_it(page, base_url):
    from app.core.extensions import db
    from app.masterdata.models import Nuclide, Product
    from tests.batch_factories import ensure_master_data

    ensure_master_data()
    f18 = db.session.query(Nuclide).filter_by(symbol="F-18").one()
    db.session.add(
        Product(code="FCH", name_en="[18F]Fluorocholine injection", nuclide=f18, shelf_life_min=600)
    )
    db.session.commit()
    login(page, base_url, "admin")
    expect(section(page, "problems")).to_contain_text("[18F]Fluorocholine injection")
    expect(section(page, "problems")).to_contain_text("No active QC template")
    shot(page, "home-admin")
    with page.expect_navigation():
        first_action(page, "problems").click()
    assert "/qc/templates/" in page.url, page.url


@pytest.mark.parametrize(
    ("username", "key", "target"),
    [
        ("qcreview", "review", "/qc/"),
        ("logi", "shipments", "/logistics/shipments/"),
    ],
)
def test_roles_with_nothing_waiting_see_it_said_and_reach_their_page(page, base_url, username, key, target):
    login(page, base_url, username)
    box = section(page, key)
    expect(box).to_be_visible()
    shot(page, f"home-{username}")
    link = box.locator(f"a[href*='{target}']").first
    with page.expect_navigation():
        link.click()
    assert target in page.url, page.url
    assert page.locator(".alert-danger").count() == 0

"""Browser: the hospital orders from its hold, the planner validates it in the queue, sees it in the
planner with the activity arithmetic and plans a batch."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from tests import order_factories as of
from tests.e2e.conftest import login, shot


def test_hospital_orders_planner_validates_and_plans_a_batch(page, base_url, app):
    from app.core.extensions import db

    with app.test_request_context():
        window = of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))
        reservation = of.hold(window, 1, now=dt.datetime.now(dt.UTC))
        reservation_id, reference = reservation.id, reservation.reference
        db.session.commit()

    login(page, base_url, "hospital")
    page.goto(f"{base_url}/orders/new?reservation_id={reservation_id}")
    expect(page.locator("#rp-order-form")).to_contain_text(reference)
    page.get_by_role("button", name="Add a dose").click()
    expect(page.locator("#rp-lines tbody tr")).to_have_count(2)
    page.locator("#rp-lines tbody tr").nth(1).get_by_role("button", name="Remove this dose").click()
    page.fill("input[name=mbq]", "370")
    page.fill("input[name=calibration_local]", "2030-06-03T21:00")
    page.fill("#n-ref", "jane.doe@example.org")
    page.click("#rp-submit-order")
    expect(page.locator("#rp-order-error")).to_contain_text("looks like an e-mail address")
    shot(page, "orders-new-refused")
    page.fill("#n-ref", "KF-E2E-0001")
    page.click("#rp-submit-order")
    expect(page.locator("#rp-order-status")).to_have_text("Submitted")
    expect(page.locator(".rp-next")).to_contain_text("Owner: Planner")
    order_no = re.search(r"ORD-\d{8}-\d{4}", page.locator("h1").inner_text()).group(0)
    shot(page, "orders-journey-hospital")

    page.goto(f"{base_url}/logout/")
    login(page, base_url, "planner")
    page.goto(f"{base_url}/orders/validation/")
    item = page.locator(f".rp-vq-item[data-order='{order_no}']")
    expect(item).to_contain_text("Radioactive-material licence valid on the delivery date")
    shot(page, "orders-validation-queue")
    item.get_by_role("button", name="Validate").click()
    expect(page.locator(".alert-success")).to_contain_text(f"Order {order_no}: validated")

    page.goto(f"{base_url}/planner/?date=2030-06-03")
    expect(page.locator("#rp-planner-windows")).to_contain_text("20:00–22:00")
    page.locator("#rp-planner-pool tr", has_text=order_no).locator("input[type=checkbox]").check()
    page.click("#rp-plan-preview")
    expect(page.locator("#rp-plan-arithmetic")).to_contain_text("Planned activity at end of synthesis")
    expect(page.locator("#rp-plan-arithmetic")).to_contain_text("× 1.15")
    shot(page, "planner-day-and-plan")
    page.click("#rp-plan-submit")
    expect(page).to_have_url(re.compile(r"/batches/\d+"))
    expect(page.locator(".alert-success")).to_contain_text("planned with 1 order")
    page.goto(page.url.split("?")[0] + "?tab=orders#tabs")
    expect(page.locator("main, body")).to_contain_text(order_no)
    shot(page, "batch-orders-tab")

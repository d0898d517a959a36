"""The batch list and journey in Debian's chromium: filters and chips, the guided dialog, roles,
saved views and exports. Screenshots of the list, the journey and a dialog go to test-artifacts/."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.batch_page_factories import journey
from tests.conftest import ARTIFACTS, DEMO_PASSWORD
from tests.e2e.conftest import login, shot

DISPENSING_MESSAGE = "You can't start dispensing before QP releases the batch."


def _day():
    """A small morning: the batches a supervisor would see at 08:00."""
    return {
        "scheduled": journey("SCHEDULED", customers=("KFSH",)),
        "qc": journey("QC_IN_PROGRESS", customers=("KFSH",)),
        "review": journey("QP_REVIEW", "PSMA11", customers=("KAMC",)),
        "held": journey("ON_HOLD", "NAF"),
        "dispensing": journey("DISPENSING_IN_PROGRESS", customers=("KFSH", "KAMC")),
        "closed": journey("CLOSED", customers=("KFSH",)),
    }


def rows(page):
    return page.locator(".rp-batch-table tbody tr")


def test_prod_filters_by_status_and_starts_production_through_the_dialog(page, base_url):
    day = _day()
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, base_url, "prod")
    page.goto(f"{base_url}/batches/")
    expect(rows(page)).to_have_count(6)
    shot(page, "batch-list")

    # Status filter through the searchable multi-select: the table follows, a chip appears.
    page.locator("#f-status + .select2 .select2-selection").click()
    page.keyboard.type("Schedul")
    page.keyboard.press("Enter")
    chip = page.locator('.rp-filter-chip[data-chip="status"]')
    expect(chip).to_contain_text("Status: Scheduled")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text(day["scheduled"].batch_no)
    assert "status=SCHEDULED" in page.url  # the URL carries the filter

    chip.locator(".rp-chip-remove").click()
    expect(chip).to_have_count(0)
    expect(rows(page)).to_have_count(6)
    assert "status=" not in page.url

    # Open the scheduled batch and start production from "What's next".
    page.get_by_role("link", name=f"View {day['scheduled'].batch_no}").click()
    expect(page.locator("h1")).to_contain_text(day["scheduled"].batch_no)
    expect(page.locator('.rp-step[data-step="planned"]')).to_have_class(re.compile("rp-step-current"))
    page.locator(".rp-next-button").click()
    dialog = page.locator("#rp-action-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Start production")
    expect(dialog).to_contain_text("The synthesis starts; planning can no longer cancel the batch.")
    # The checklist is required: confirming without it keeps the dialog open with the reason.
    dialog.locator(".rp-action-submit").click()
    expect(dialog.locator(".rp-action-error")).to_contain_text("Confirm every check")
    for box in dialog.locator("input[name=checklist]").all():
        box.check()
    expect(dialog.locator(".rp-action-error")).to_be_hidden()  # ticking a box clears the refusal
    dialog.locator("textarea[name=note]").fill("Target 1 irradiated 45 min; cassette lot FL-2291.")
    page.screenshot(path=str(ARTIFACTS / "batch-dialog.png"))  # the viewport: the dialog over the page
    with page.expect_navigation():
        dialog.locator(".rp-action-submit").click()

    expect(page.locator(".alert-success")).to_contain_text("Production Started")
    expect(page.locator('.rp-step[data-step="planned"]')).to_have_class(re.compile("rp-step-done"))
    expect(page.locator('.rp-step[data-step="production"]')).to_have_class(re.compile("rp-step-current"))
    last = page.locator(".rp-event").last
    expect(last).to_contain_text("Production Started")
    expect(last).to_contain_text("Target 1 irradiated 45 min; cassette lot FL-2291.")
    expect(last).to_contain_text("Lina Saleh (Production)")
    expect(page.locator(".rp-header-title .rp-badge")).to_contain_text("In Production")


def test_journey_screenshot_and_keyboard_reach(page, base_url):
    day = _day()
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, base_url, "qp")
    page.goto(f"{base_url}/batches/{day['dispensing'].id}")
    expect(page.locator(".rp-stepper")).to_be_visible()
    shot(page, "batch-journey")
    # Tabbing reaches the tabs and the export links, each with a visible focus ring.
    page.locator(".rp-tabs a").first.focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.set_viewport_size({"width": 768, "height": 1000})
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    shot(page, "batch-journey-tablet")
    page.goto(f"{base_url}/batches/")
    page.wait_for_selector(".rp-batch-table")
    assert page.evaluate("document.documentElement.scrollWidth") <= 768  # the table scrolls in its box
    shot(page, "batch-list-tablet")


def test_disp_is_not_offered_dispensing_before_release_and_the_api_says_why(page, base_url):
    day = _day()
    login(page, base_url, "disp")
    page.goto(f"{base_url}/batches/{day['review'].id}")
    expect(page.locator(".rp-next")).to_contain_text("Waiting for QP")
    assert page.get_by_text("Start dispensing").count() == 0
    page.goto(f"{base_url}/batches/{day['review'].id}?tab=dose-units")
    expect(page.locator(".rp-tab-body")).to_contain_text("Blocked: QP Release pending")

    token = page.request.post(
        f"{base_url}/api/v1/security/login",
        data={"username": "disp", "password": DEMO_PASSWORD, "provider": "db"},
    ).json()["access_token"]
    r = page.request.post(
        f"{base_url}/api/v1/batches/{day['review'].id}/transition",
        data={"to_status": "DISPENSING_IN_PROGRESS"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status == 409
    assert r.json()["code"] == "DISPENSING_BEFORE_RELEASE"
    assert r.json()["userMessage"] == DISPENSING_MESSAGE


def test_hospital_sees_no_metadata_no_audit_and_not_other_hospitals(page, base_url):
    day = _day()
    login(page, base_url, "hospital")
    page.goto(f"{base_url}/batches/")
    expect(page.locator(".rp-batch-table")).to_contain_text(day["scheduled"].batch_no)
    expect(page.locator(".rp-batch-table")).not_to_contain_text(day["review"].batch_no)
    page.goto(f"{base_url}/batches/{day['closed'].id}")
    expect(page.locator(".rp-timeline")).to_contain_text("Batch completed")  # customer-facing words
    expect(page.locator(".rp-timeline")).not_to_contain_text("()")
    assert page.locator(".rp-event-details").count() == 0
    assert page.locator(".rp-tabs").get_by_text("Audit").count() == 0
    response = page.goto(f"{base_url}/batches/{day['review'].id}")
    assert response.status == 404
    expect(page.locator("body")).to_contain_text("The batch was not found.")


def test_saved_view_round_trip_and_exports(page, base_url):
    from pypdf import PdfReader

    day = _day()
    login(page, base_url, "qp")
    page.goto(f"{base_url}/batches/?exceptions_only=true")
    expect(rows(page)).to_have_count(1)
    page.locator("#rp-save-view-btn").click()
    page.fill("#rp-view-name", "Exceptions this week")
    with page.expect_navigation():
        page.locator("#rp-save-view-form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("Saved view “Exceptions this week” created.")

    page.goto(f"{base_url}/batches/")
    expect(rows(page)).to_have_count(6)
    page.locator("#rp-saved-menu").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Exceptions this week").click()
    expect(page.locator('.rp-filter-chip[data-chip="exceptions_only"]')).to_be_visible()
    expect(rows(page)).to_have_count(1)

    page.locator("#rp-saved-menu").click()
    page.get_by_text("Rename or delete…").click()
    field = page.locator(".rp-rename-form input[name=name]")
    field.fill("Held and failed")
    with page.expect_navigation():
        page.locator(".rp-rename-form button").click()
    page.locator("#rp-saved-menu").click()
    expect(page.locator(".rp-saved-list")).to_contain_text("Held and failed")
    page.get_by_text("Rename or delete…").click()
    with page.expect_navigation():
        page.locator(".rp-delete-form button").click()
    expect(page.locator(".alert-success")).to_contain_text("deleted")
    page.locator("#rp-saved-menu").click()
    expect(page.locator(".rp-saved-list")).to_contain_text("No saved views yet")

    batch = day["dispensing"]
    page.goto(f"{base_url}/batches/{batch.id}")
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [r["title"] for r in lines][:3] == ["Batch Planned", "Batch Scheduled", "Production Started"]
    assert lines[-1]["title"] == "Dispensing Started" and lines[-1]["role"] == "Dispensing"
    with page.expect_download() as info:
        page.get_by_role("link", name="PDF").click()
    pdf = PdfReader(info.value.path())
    content = "\n".join(p.extract_text() for p in pdf.pages)
    for expected in (
        batch.batch_no,
        "Production Started",
        "Batch Released",
        "Dispensing Started",
        "Page 1 of",
    ):
        assert expected in content, expected

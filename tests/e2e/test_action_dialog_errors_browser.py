"""Chromium: the journey's action dialog (complete production) at 1280x800. A refusal marks the field it
is about; editing the field clears the old message and the mark, and submitting again shows only the new
answer. The dialog scrolls inside the viewport: its Confirm button is never below the window."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from app.batches.models import Batch
from app.core.extensions import db
from tests.conftest import ARTIFACTS
from tests.e2e.conftest import open_completion_dialog

TOO_PRECISE = "370.05 MBq is 370.05 MBq, more decimals than the 1 kept: round the value you type."
TOO_LARGE = "The end-of-synthesis activity must be at most 2,000.00 GBq."


def _window_shot(page, name: str) -> None:
    """What the person sees: the window, not the page under the dialog (test-artifacts/<name>.png)."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _open_dialog(page, base_url, unit: str, width: int, height: int):
    return open_completion_dialog(page, base_url, unit, (width, height))


def _in_view(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_a_corrected_value_clears_the_old_error(page, base_url):
    batch, dialog = _open_dialog(page, base_url, "MBq", 1280, 800)
    field = dialog.locator("#rp-field-actual_yield_mbq")
    error = dialog.locator(".rp-action-error")
    submit = dialog.locator(".rp-action-submit")

    field.fill("370.05")
    submit.click()
    expect(error).to_contain_text(TOO_PRECISE)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator(".form-group.has-error #rp-field-actual_yield_mbq")).to_have_count(1)
    assert _in_view(page, submit), "the Confirm button is below the window"
    _window_shot(page, "e2e-action-dialog-error-1280x800")

    # the person edits the value: the old refusal and the field's mark go at once
    field.fill("370.5")
    expect(error).to_be_hidden()
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(dialog.locator(".form-group.has-error")).to_have_count(0)
    _window_shot(page, "e2e-action-dialog-corrected-1280x800")

    # submitted again with another wrong value: only the new answer is on screen
    field.fill("2000000.1")
    submit.click()
    expect(error).to_contain_text(TOO_LARGE)
    expect(error).not_to_contain_text("more decimals")
    expect(field).to_have_attribute("aria-invalid", "true")

    # submitted again unchanged: the old answer goes while the server is asked (the answer is held back)
    held = []

    def hold(route):
        held.append(route)

    page.route("**/act", hold)
    submit.click()
    expect(error).to_be_hidden()
    expect(dialog.locator(".form-group.has-error")).to_have_count(0)
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/act", hold)
    expect(error).to_contain_text(TOO_LARGE)

    field.fill("370.5")
    with page.expect_navigation():
        submit.click()
    db.session.expire_all()
    assert db.session.get(Batch, batch.id).actual_yield_mbq == Decimal("370.5")


def test_the_dialog_scrolls_inside_a_short_window(page, base_url):
    """mCi adds a line of help; at 1280x600 the body scrolls and the refusal is brought into view."""
    _batch, dialog = _open_dialog(page, base_url, "mCi", 1280, 600)
    submit = dialog.locator(".rp-action-submit")
    assert _in_view(page, submit) and _in_view(page, dialog.locator(".modal-title"))
    _window_shot(page, "e2e-action-dialog-1280x600")
    dialog.locator("#rp-field-actual_yield_mbq").fill("10.123")
    submit.click()
    error = dialog.locator(".rp-action-error")
    expect(error).to_contain_text("10.123 mCi is 374.551 MBq, more decimals than the 1 kept")
    expect(dialog.locator("#rp-field-actual_yield_mbq")).to_have_attribute("aria-invalid", "true")
    assert _in_view(page, error) and _in_view(page, submit)
    _window_shot(page, "e2e-action-dialog-error-1280x600")

"""Chromium: a production operator who reads mCi completes production with the end-of-synthesis
activity typed in mCi (issue 13 item 8); the dialog's label names mCi, a value finer than 0.1 MBq is
refused in place, and 10.5 mCi is stored as 388.5 MBq and read back as 10.50 mCi."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from app.batches.models import Batch
from app.core.extensions import db
from tests.e2e.conftest import open_completion_dialog, shot


def test_complete_production_dialog_takes_the_yield_in_mci(page, base_url):
    batch, dialog = open_completion_dialog(page, base_url, "mCi")
    expect(dialog.locator("label[for=rp-field-actual_yield_mbq]")).to_have_text(
        "End-of-synthesis activity (mCi)"
    )
    dialog.locator("#rp-field-actual_yield_mbq").fill("10.123")
    dialog.locator(".rp-action-submit").click()
    expect(dialog.locator(".rp-action-error")).to_contain_text(
        "10.123 mCi is 374.551 MBq, more decimals than the 1 kept: round the value you type."
    )
    dialog.locator("#rp-field-actual_yield_mbq").fill("10.5")
    shot(page, "e2e-complete-production-yield-in-mci")
    with page.expect_navigation():
        dialog.locator(".rp-action-submit").click()
    expect(page.locator("body")).to_contain_text("10.50 mCi")
    db.session.expire_all()
    assert db.session.get(Batch, batch.id).actual_yield_mbq == Decimal("388.5")

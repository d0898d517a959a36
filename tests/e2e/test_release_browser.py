"""Browser: the QP reviews a clean batch by exception, signs the release, and the journey moves on."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, shot
from tests.release_factories import RELEASE_MEANING, batch_in_qp_review


@pytest.fixture
def _forget_signature_failures(app):
    """The wrong password below is committed as a SignatureFailure of `qp`; signature failures are
    kept between committed tests, and a stale one would count towards `qp`'s lockout elsewhere."""
    yield
    from sqlalchemy import delete

    from app.core.extensions import db
    from app.security.models import SignatureFailure

    with app.app_context():
        qp = app.appbuilder.sm.find_user(username="qp")
        db.session.execute(delete(SignatureFailure).where(SignatureFailure.user_id == qp.id))
        db.session.commit()


@pytest.mark.usefixtures("_forget_signature_failures")
def test_qp_reviews_a_clean_batch_and_signs_the_release(page, base_url, app):
    with app.test_request_context():
        batch = batch_in_qp_review()
        batch_id, batch_no = batch.id, batch.batch_no

    login(page, base_url, "qp")
    page.goto(f"{base_url}/release/")
    row = page.locator(f"tr[data-batch-id='{batch_id}']")
    expect(row).to_contain_text(batch_no)
    expect(row).to_contain_text("0 exceptions")
    shot(page, "release-queue")

    row.get_by_role("link", name=re.compile("Review")).click()
    expect(page.locator(".rp-release-clean")).to_contain_text("0 exceptions")
    page.get_by_role("button", name=re.compile("Release")).click()
    dialog = page.locator("#sign-release")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(RELEASE_MEANING)
    expect(dialog).to_contain_text("This will unlock Dispensing.")

    # A wrong password: the server's message appears inside the dialog, nothing is signed.
    dialog.locator("input[type=password]").fill("not-the-password")
    dialog.get_by_role("button", name=re.compile("Sign")).click()
    error = dialog.locator(".rp-sign-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("The password is not correct")
    shot(page, "release-dialog-refused")

    dialog.locator("textarea[name=comment]").fill("Reviewed by exception: nothing to report.")
    dialog.locator("input[type=password]").fill("radiopharma-demo")
    shot(page, "release-dialog")
    with page.expect_navigation():
        dialog.get_by_role("button", name=re.compile("Sign")).click()

    signature = page.locator(".rp-signature").first
    expect(signature).to_contain_text(RELEASE_MEANING)
    expect(signature).to_contain_text("Dr. Sara Mansour")
    expect(signature).to_contain_text("UTC")
    expect(page.locator(".rp-release-head")).to_contain_text("Released")
    shot(page, "release-signed")

    if "BatchPagesView.journey" in app.view_functions:
        page.goto(f"{base_url}/batches/{batch_id}")
        expect(page.locator(".rp-step[data-step='dispensing']")).to_have_class(re.compile("rp-step-current"))
        expect(page.locator(".rp-step[data-step='qp_release']")).to_have_class(re.compile("rp-step-done"))
        page.goto(f"{base_url}/batches/{batch_id}?tab=release")
        expect(page.locator(".rp-release-tab .rp-signature").first).to_contain_text(RELEASE_MEANING)
        shot(page, "release-journey")
    else:  # the journey page is not installed: the same milestones through the API the page uses
        detail = page.request.get(f"{base_url}/api/v1/batches/{batch_id}").json()
        steps = {m["key"]: m["state"] for m in detail["milestones"]}
        assert steps["qp_release"] == "done" and steps["dispensing"] == "current"

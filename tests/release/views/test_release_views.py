"""Release pages: queue, review by exception, the signature form post, the CoA page, release rights."""

from __future__ import annotations

import io

import pytest
from flask import g
from pypdf import PdfReader

from tests.conftest import login_page
from tests.release_factories import RELEASE_MEANING, add_user, authorise, batch_in_qp_review

pytestmark = pytest.mark.usefixtures("app_ctx")
JSON = {"Accept": "application/json"}


def as_user(app, username):
    """A browser-like client signed in as `username` (the test app context shares flask.g)."""
    for key in list(vars(g)):
        g.pop(key, None)
    return login_page(app.test_client(), username)


def test_queue_shows_waiting_batches_with_exception_counts(app):
    batch = batch_in_qp_review()
    html = as_user(app, "qp").get("/release/").get_data(as_text=True)
    assert batch.batch_no in html and "0 exceptions" in html and "in QP review" in html


@pytest.mark.parametrize(
    ("user", "allowed"),
    [("qp", True), ("auditor", True), ("qcmanager", True), ("disp", False), ("hospital", False)],
)
def test_queue_permission(app, user, allowed):
    r = as_user(app, user).get("/release/")
    assert (r.status_code == 200) is allowed, r.status_code


def test_review_page_shows_zero_exceptions_and_the_signature_dialogs(app):
    batch = batch_in_qp_review()
    html = as_user(app, "qp").get(f"/release/{batch.id}").get_data(as_text=True)
    assert "0 exceptions" in html
    assert 'id="sign-release"' in html and 'id="sign-hold"' in html and 'id="sign-reject"' in html
    assert RELEASE_MEANING in html and "This will unlock Dispensing." in html


def test_auditor_sees_the_review_but_cannot_sign(app):
    batch = batch_in_qp_review()
    client = as_user(app, "auditor")
    html = client.get(f"/release/{batch.id}").get_data(as_text=True)
    assert "0 exceptions" in html and 'id="sign-release"' not in html
    r = client.post(
        f"/release/{batch.id}/disposition", data={"disposition": "RELEASE", "password": "x"}, headers=JSON
    )
    assert r.status_code in (302, 403)
    assert db_status(batch.id) == "QP_REVIEW"


def db_status(batch_id):
    from app.batches.models import Batch
    from app.core.extensions import db

    db.session.expire_all()
    return db.session.get(Batch, batch_id).status


def test_dialog_post_refuses_in_json_then_signs_and_shows_the_manifestation(app):
    batch = batch_in_qp_review()
    client = as_user(app, "qp")
    form = {"disposition": "RELEASE", "meaning": RELEASE_MEANING, "version": str(batch.version)}
    r = client.post(f"/release/{batch.id}/disposition", data={**form, "password": "wrong"}, headers=JSON)
    assert r.status_code == 403 and r.get_json()["code"] == "SIGNATURE_INVALID"
    assert "not correct" in r.get_json()["userMessage"]
    r = client.post(
        f"/release/{batch.id}/disposition", data={**form, "password": "radiopharma-demo"}, headers=JSON
    )
    assert r.status_code == 200 and r.get_json()["redirect"] == f"/release/{batch.id}"
    html = client.get(f"/release/{batch.id}").get_data(as_text=True)
    assert "Dr. Sara Mansour" in html and RELEASE_MEANING in html and "UTC" in html and "Asia/Riyadh" in html
    assert db_status(batch.id) == "RELEASED"


def test_sod_problem_is_shown_before_signing_and_the_button_disabled(app):
    add_user("pageqcqp", "QC Analyst", "QP")
    authorise("pageqcqp")
    batch = batch_in_qp_review(analyst="pageqcqp")
    html = as_user(app, "pageqcqp").get(f"/release/{batch.id}").get_data(as_text=True)
    assert "You entered QC results for this batch, so another QP must release it." in html
    assert 'id="sign-release"' not in html and 'id="sign-hold"' in html  # holding is still possible


def test_coa_page_endpoint_serves_the_signed_certificate(app):
    from tests.release_factories import release

    batch = batch_in_qp_review()
    release(batch.id)
    r = as_user(app, "qp").get(f"/batches/{batch.id}/coa.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    assert "Dr. Sara Mansour" in text and RELEASE_MEANING in text and batch.batch_no in text


def test_journey_release_tab_shows_the_panel(app):
    if "BatchPagesView.journey" not in app.view_functions:
        pytest.skip("the batch journey page is not installed")
    batch = batch_in_qp_review()
    html = as_user(app, "qp").get(f"/batches/{batch.id}?tab=release").get_data(as_text=True)
    assert "Review by exception" in html and "0 exceptions" in html and 'id="sign-release"' in html


def test_admin_grants_and_revokes_release_rights_with_a_reason(app):
    from app.core.extensions import db
    from app.masterdata.models import Product
    from app.release.models import QpProductAuthorisation

    add_user("rightsqp", "QP")
    user = app.appbuilder.sm.find_user(username="rightsqp")
    product = db.session.query(Product).filter_by(code="FDG").one()
    admin = as_user(app, "admin")
    assert admin.get("/release/authorisations/list/").status_code == 200
    r = admin.post(
        "/release/authorisations/add", data={"user": user.id, "product": product.id, "note": "Trained"}
    )
    assert r.status_code == 302
    grant = db.session.query(QpProductAuthorisation).filter_by(user_id=user.id, revoked_at=None).one()
    page = admin.get(f"/release/authorisations/revoke/{grant.id}").get_data(as_text=True)
    assert "Reason for revoking" in page
    admin.post(f"/release/authorisations/revoke/{grant.id}", data={"reason": ""})
    db.session.expire_all()
    assert db.session.get(QpProductAuthorisation, grant.id).revoked_at is None
    r = admin.post(f"/release/authorisations/revoke/{grant.id}", data={"reason": "Moved to another site"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(QpProductAuthorisation, grant.id).revoke_reason == "Moved to another site"


def test_auditor_reads_release_rights_but_cannot_change_them(app):
    auditor = as_user(app, "auditor")
    assert auditor.get("/release/authorisations/list/").status_code == 200
    assert auditor.get("/release/authorisations/add").status_code in (302, 403)


@pytest.mark.parametrize("next_url", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_after_signing_the_page_never_redirects_off_site(app, next_url):
    batch = batch_in_qp_review()
    r = as_user(app, "qp").post(
        f"/release/{batch.id}/disposition",
        data={"disposition": "RELEASE", "password": "radiopharma-demo", "next": next_url},
        headers=JSON,
    )
    assert r.status_code == 200 and r.get_json()["redirect"] == f"/release/{batch.id}"

"""The release API: disposition with signature, review JSON, queue, CoA PDF; errors in the one shape."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.conftest import ARTIFACTS
from tests.qc_factories import make_batch
from tests.release_factories import RELEASE_MEANING, add_user, batch_in_qp_review

pytestmark = pytest.mark.usefixtures("app_ctx")
PASSWORD = "radiopharma-demo"


@pytest.fixture(autouse=True)
def _no_login_leak_between_requests(monkeypatch):
    """The test app context outlives requests, so flask.g would carry one user's identity into the
    next user's request; clear it before each call (as tests/api/test_qc_api.py does)."""
    from flask import g

    from tests.conftest import Api

    original = Api._do

    def _do(self, method, url, **kw):
        for key in list(vars(g)):
            g.pop(key, None)
        return original(self, method, url, **kw)

    monkeypatch.setattr(Api, "_do", _do)


def _dispose(api, batch_id, user="qp", **body):
    body.setdefault("password", PASSWORD)
    return api(user).post(f"/api/v1/batches/{batch_id}/disposition", json=body)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_release_happy_path_returns_the_signature_manifestation(api):
    batch = batch_in_qp_review()
    r = _dispose(
        api, batch.id, disposition="RELEASE", meaning=RELEASE_MEANING, comment="Reviewed by exception"
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    sig = body["disposition"]["signature"]
    assert body["disposition"]["disposition"] == "RELEASE"
    assert sig["printed_name"] == "Dr. Sara Mansour" and sig["meaning"] == RELEASE_MEANING
    assert sig["utc_text"].endswith("UTC") and "Asia/Riyadh" in sig["local_text"]
    assert sig["signed_at_utc"] and sig["comment"] == "Reviewed by exception"
    assert body["batch"]["status"] == "RELEASED"
    dispensing = next(m for m in body["batch"]["milestones"] if m["key"] == "dispensing")
    assert dispensing["state"] == "current"
    events = api("qp").get(f"/api/v1/batches/{batch.id}/events").get_json()["items"]
    released = next(e for e in events if e["to_status"] == "RELEASED")
    assert released["signature_id"] == sig["signature_id"]
    assert released["metadata"]["signature"]["printed_name"] == "Dr. Sara Mansour"

    review = api("qp").get(f"/api/v1/batches/{batch.id}/release").get_json()
    assert review["dispositions"][-1]["signature"]["meaning"] == RELEASE_MEANING

    pdf = api("qp").get(f"/api/v1/batches/{batch.id}/coa")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    (ARTIFACTS / "coa-released.pdf").write_bytes(pdf.data)
    text = pdf_text(pdf.data)
    for expected in ("Certificate of Analysis", batch.batch_no, "Dr. Sara Mansour", RELEASE_MEANING, sig["utc_text"],
                     "Radiochemical Purity", "Pass"):  # fmt: skip
        assert expected in text, expected
    assert "DRAFT" not in text


def test_wrong_password_is_403_signature_invalid(api):
    batch = batch_in_qp_review()
    r = _dispose(api, batch.id, disposition="RELEASE", password="wrong-one")
    assert r.status_code == 403
    body = r.get_json()
    assert body["code"] == "SIGNATURE_INVALID" and body["userMessage"] and body["traceId"]


def test_hold_without_comment_is_422(api):
    batch = batch_in_qp_review()
    r = _dispose(api, batch.id, disposition="HOLD")
    assert r.status_code == 422 and r.get_json()["code"] == "COMMENT_REQUIRED"
    assert r.get_json()["details"]["fields"]["comment"]


def test_sod_violation_is_409_with_the_rule(api):
    add_user("apiqcqp", "QC Analyst", "QP")
    from tests.release_factories import authorise

    authorise("apiqcqp")
    batch = batch_in_qp_review(analyst="apiqcqp")
    r = _dispose(api, batch.id, user="apiqcqp", disposition="RELEASE")
    assert r.status_code == 409
    assert r.get_json() | {"traceId": None} == {
        "code": "SOD_VIOLATION",
        "userMessage": "You entered QC results for this batch, so another QP must release it.",
        "traceId": None,
        "details": {"rule": "The certifying QP must not have entered, corrected or reviewed its QC results."},
    }


def test_not_authorised_is_403_naming_the_product(api):
    add_user("apiqp2", "QP")
    batch = batch_in_qp_review()
    r = _dispose(api, batch.id, user="apiqp2", disposition="RELEASE")
    assert r.status_code == 403 and r.get_json()["code"] == "RELEASE_NOT_AUTHORISED"
    assert "FDG" in r.get_json()["userMessage"]


@pytest.mark.parametrize("user", ["qc", "disp", "auditor", "hospital"])
def test_only_roles_with_can_release_may_call_it(api, user):
    batch = batch_in_qp_review()
    r = _dispose(api, batch.id, user=user, disposition="RELEASE")
    assert r.status_code in (403, 404) and r.get_json()["code"] in ("FORBIDDEN", "NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {"disposition": "APPROVE"},
        {"disposition": "RELEASE", "comment": 5},
        {"disposition": "RELEASE", "version": "x"},
    ],
)
def test_bad_input_is_422_never_500(api, body):
    batch = batch_in_qp_review()
    assert _dispose(api, batch.id, **body).status_code == 422


def test_not_json_and_unknown_batch(api):
    r = api("qp").post("/api/v1/batches/1/disposition", data="nope", content_type="text/plain")
    assert r.status_code == 422
    assert _dispose(api, 999999, disposition="RELEASE").status_code == 404


def test_stale_version_is_a_conflict(api):
    batch = batch_in_qp_review()
    r = _dispose(api, batch.id, disposition="RELEASE", version=batch.version - 1)
    assert r.status_code == 409 and r.get_json()["code"] == "CONFLICT"


def test_queue_lists_review_and_hold_with_exception_counts(api):
    waiting = batch_in_qp_review()
    held = batch_in_qp_review()
    assert _dispose(api, held.id, disposition="HOLD", comment="Check the label").status_code == 200
    make_batch()  # QC pending: not in the queue
    items = api("qp").get("/api/v1/release/queue").get_json()["items"]
    by_id = {i["id"]: i for i in items}
    assert by_id[waiting.id]["status"] == "QP_REVIEW" and by_id[waiting.id]["exceptions_count"] == 0
    assert by_id[held.id]["status"] == "ON_HOLD"
    assert all(i["status"] in ("QP_REVIEW", "ON_HOLD", "QC_PASSED") for i in items)
    assert api("disp").get("/api/v1/release/queue").status_code == 403


def test_review_lists_what_the_qp_may_sign(api):
    batch = batch_in_qp_review()
    body = api("qp").get(f"/api/v1/batches/{batch.id}/release").get_json()
    assert body["exceptions_count"] == 0
    options = {a["disposition"]: a for a in body["available"]}
    assert set(options) == {"RELEASE", "HOLD", "REJECT"}
    assert options["RELEASE"]["meaning"] == RELEASE_MEANING
    assert options["RELEASE"]["impact"] == "This will unlock Dispensing."
    assert options["HOLD"]["comment_required"] is True


def test_hospital_gets_the_coa_of_its_released_batch_only(api, app):
    from app.batches import service as batches
    from app.core.extensions import db
    from app.masterdata.models import Customer, CustomerUser

    batch = batch_in_qp_review()
    link = (
        db.session.query(CustomerUser)
        .filter_by(user_id=app.appbuilder.sm.find_user(username="hospital").id)
        .one()
    )
    batches.link_customers(batch, [db.session.get(Customer, link.customer_id).id])
    db.session.commit()
    r = api("hospital").get(f"/api/v1/batches/{batch.id}/coa")
    assert r.status_code == 409 and r.get_json()["code"] == "COA_NOT_AVAILABLE"
    assert _dispose(api, batch.id, disposition="RELEASE").status_code == 200
    r = api("hospital").get(f"/api/v1/batches/{batch.id}/coa")
    assert r.status_code == 200 and "Dr. Sara Mansour" in pdf_text(r.data)
    other = batch_in_qp_review()
    assert api("hospital").get(f"/api/v1/batches/{other.id}/coa").status_code == 404


def test_draft_coa_says_it_does_not_certify(api):
    batch = batch_in_qp_review()
    r = api("qp").get(f"/api/v1/batches/{batch.id}/coa")
    (ARTIFACTS / "coa-draft.pdf").write_bytes(r.data)
    text = pdf_text(r.data)
    assert "DRAFT" in text and "does not certify" in text

"""QC API: shapes, permissions, errors, attachments (413/415/success/download), the QC gates."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.extensions import db
from app.masterdata.models import Product
from tests.qc_factories import FDG_PASS, PASSWORD, PDF, attach_required, enter, make_batch, results_by_code

MB5 = 5 * 1024 * 1024


@pytest.fixture(autouse=True)
def _no_login_leak_between_requests(monkeypatch):
    """The test app context outlives requests, so flask.g (and Flask-Login's cached user) would carry
    one user's identity into the next user's request; clear it before each call."""
    from flask import g

    from tests.conftest import Api

    original = Api._do

    def _do(self, method, url, **kw):
        for key in list(vars(g)):
            g.pop(key, None)
        return original(self, method, url, **kw)

    monkeypatch.setattr(Api, "_do", _do)


def product_id(code: str) -> int:
    return db.session.execute(select(Product.id).where(Product.code == code)).scalar_one()


def stored_files(app) -> set[str]:
    root = Path(app.config["UPLOAD_DIR"]) / "qc"
    return set(os.listdir(root)) if root.exists() else set()


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def upload(client, batch_id, result_id, content: bytes, name: str):
    return client.post(
        f"/api/v1/batches/{batch_id}/qc-results/{result_id}/attachments",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def assert_error(r, status: int, code: str | None = None):
    assert r.status_code == status, r.get_json()
    body = r.get_json()
    assert set(body) >= {"code", "userMessage", "traceId"}
    if code:
        assert body["code"] == code, body


# --- routing next to the master-data and batch APIs -------------------------------------------------


def test_qc_template_routes_live_beside_the_products_api(api):
    qm = api("qcmanager")
    pid = product_id("FDG")
    assert qm.get("/api/v1/products/").status_code == 200
    assert qm.get(f"/api/v1/products/{pid}").status_code == 200
    r = qm.get(f"/api/v1/products/{pid}/qc-templates")
    assert r.status_code == 200
    body = r.get_json()
    assert body["product"]["code"] == "FDG" and body["active_template_id"] == body["items"][0]["id"]
    ph = next(ln for ln in body["items"][0]["lines"] if ln["test_code"] == "PH")
    assert (
        ph["criteria_display_en"] == "4.5–8.5 (result rounded to 1 decimal)"
        and ph["rule"]["rule_type"] == "RANGE"
    )


# --- test definitions ---------------------------------------------------------------------------------


def test_test_definitions_list_filter_create_and_errors(api):
    qc_user, qm = api("qc"), api("qcmanager")
    r = qc_user.get("/api/v1/qc/test-definitions?active=true&q=pH meter")
    assert r.status_code == 200 and [i["code"] for i in r.get_json()["items"]] == ["PH"]
    assert_error(qc_user.get("/api/v1/qc/test-definitions?active=maybe"), 422, "VALIDATION_ERROR")
    new = {
        "code": "OSMO",
        "name_en": "Osmolality",
        "name_ar": "الأسمولية",
        "result_type": "NUMERIC",
        "unit": "mOsm/kg",
        "decimal_places": 0,
    }
    assert_error(qc_user.post("/api/v1/qc/test-definitions", json=new), 403)
    r = qm.post("/api/v1/qc/test-definitions", json=new)
    assert r.status_code == 201 and r.get_json()["result"]["name_ar"] == "الأسمولية"
    dup = qm.post("/api/v1/qc/test-definitions", json=new)
    assert_error(dup, 422, "VALIDATION_ERROR")
    assert "code" in dup.get_json()["details"]["fields"]
    bad = qm.post("/api/v1/qc/test-definitions", data="nope", content_type="application/json")
    assert_error(bad, 400, "BAD_REQUEST")
    ph_id = next(
        i["id"] for i in qm.get("/api/v1/qc/test-definitions").get_json()["items"] if i["code"] == "PH"
    )
    assert_error(qm.put(f"/api/v1/qc/test-definitions/{ph_id}", json={"unit": "mV"}), 409, "QC_TEST_IN_USE")
    r = qm.put(f"/api/v1/qc/test-definitions/{ph_id}", json={"method_en": "pH meter (glass electrode)"})
    assert r.status_code == 200 and r.get_json()["result"]["method_en"].startswith("pH meter")
    assert_error(qm.get("/api/v1/qc/test-definitions/999999"), 404, "NOT_FOUND")
    assert_error(api().get("/api/v1/qc/test-definitions"), 401)


# --- templates ----------------------------------------------------------------------------------------


def test_template_version_edit_and_signed_activation(api):
    qm, analyst = api("qcmanager"), api("qc")
    pid = product_id("NAF")
    assert_error(analyst.post(f"/api/v1/products/{pid}/qc-templates", json={}), 403)
    r = qm.post(f"/api/v1/products/{pid}/qc-templates", json={"change_summary": "add Kryptofix"})
    assert r.status_code == 201
    draft = r.get_json()["result"]
    lines = draft["lines"] + [
        {"test_code": "KRYPTOFIX", "rule": {"rule_type": "PASS_FAIL_ONLY", "text_criteria_en": "<50 µg/mL"}}
    ]
    r = qm.put(f"/api/v1/products/{pid}/qc-templates", json={"lines": lines})
    assert r.status_code == 200 and r.get_json()["result"]["line_count"] == len(lines)
    bad = qm.put(
        f"/api/v1/products/{pid}/qc-templates",
        json={"lines": [{"test_code": "PH", "rule": {"rule_type": "RANGE", "min_value": "x"}}]},
    )
    assert_error(bad, 422, "VALIDATION_ERROR")
    url = f"/api/v1/products/{pid}/qc-templates/{draft['id']}/activate"
    assert_error(analyst.post(url, json={"password": PASSWORD}), 403)
    assert_error(
        qm.post(url, json={"password": "wrong-password", "meaning": "Approve"}), 403, "SIGNATURE_INVALID"
    )
    r = qm.post(url, json={"password": PASSWORD, "meaning": "I approve NAF QC v2"})
    assert r.status_code == 200 and r.get_json()["result"]["status"] == "ACTIVE"
    versions = qm.get(f"/api/v1/products/{pid}/qc-templates").get_json()["items"]
    assert [v["status"] for v in versions] == ["ACTIVE", "RETIRED"]
    assert_error(
        qm.put(f"/api/v1/products/{pid}/qc-templates/{draft['id']}", json={"lines": []}),
        409,
        "QC_TEMPLATE_LOCKED",
    )
    assert_error(
        qm.post(f"/api/v1/products/{pid}/qc-templates/{draft['id']}/retire", json={}), 422, "REASON_REQUIRED"
    )


# --- batch QC session ---------------------------------------------------------------------------------


def test_session_shape_entry_and_errors(api):
    batch = make_batch()
    analyst = api("qc")
    r = analyst.get(f"/api/v1/batches/{batch.id}/qc-session")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "NOT_STARTED" and body["progress"]["text"].startswith("0/")
    row = next(x for x in body["results"] if x["test_code"] == "PH")
    assert {
        "id",
        "test_code",
        "status",
        "numeric_value",
        "text_value",
        "pass_fail_value",
        "criteria_display_en",
    } <= set(row)
    url = f"/api/v1/batches/{batch.id}/qc-results/{row['id']}"
    r = analyst.put(url, json={"numeric_value": 4.4})
    assert r.status_code == 200
    res = r.get_json()["result"]
    assert (
        res["status"] == "FAIL"
        and res["fail_reason"] == "Out of range: 4.4 < 4.5"
        and res["numeric_value"] == "4.4"
    )
    assert_error(analyst.put(url, json={"numeric_value": 6.0}), 422, "REASON_REQUIRED")
    assert (
        analyst.put(url, json={"numeric_value": 6.0, "reason": "wrong vial"}).get_json()["result"]["status"]
        == "PASS"
    )
    assert_error(analyst.put(url, json={"numeric_value": "seven", "reason": "x"}), 422, "VALIDATION_ERROR")
    assert_error(analyst.put(url, json=["not", "an", "object"]), 422)
    assert_error(analyst.put(f"/api/v1/batches/{batch.id}/qc-results/999999", json={"numeric_value": 7}), 404)
    assert_error(api("planner").put(url, json={"numeric_value": 7, "reason": "x"}), 403)
    assert_error(api("hospital").get(f"/api/v1/batches/{batch.id}/qc-session"), 403)
    history = analyst.get(f"/api/v1/batches/{batch.id}/qc-session/history").get_json()["items"]
    assert [h["kind"] for h in history] == ["CORRECTION", "ENTRY"] and history[0]["reason"] == "wrong vial"


def test_submit_and_review_through_the_api_with_segregation_of_duties(api):
    batch = make_batch()
    enter(batch.id, FDG_PASS)
    attach_required(batch.id)
    analyst, reviewer = api("qc"), api("qcreview")
    r = analyst.post(f"/api/v1/batches/{batch.id}/qc-session/submit", json={})
    assert r.status_code == 200 and r.get_json()["status"] == "WAITING_REVIEW"
    assert_error(
        analyst.post(f"/api/v1/batches/{batch.id}/qc-session/review", json={"decision": "APPROVE"}), 403
    )
    assert_error(
        reviewer.post(f"/api/v1/batches/{batch.id}/qc-session/review", json={"decision": "MAYBE"}), 422
    )
    seen = reviewer.get(f"/api/v1/batches/{batch.id}/qc-session").get_json()
    assert set(seen["allowed_actions"]) == {"approve", "reject", "return_for_correction"}
    r = reviewer.post(
        f"/api/v1/batches/{batch.id}/qc-session/review", json={"decision": "APPROVE", "note": "ok"}
    )
    assert r.status_code == 200 and r.get_json()["status"] == "QC_PASSED"
    assert r.get_json()["batch_status"] == "QC_PASSED"


def test_qp_review_gate_refuses_until_qc_session_passed(api):
    batch = make_batch()
    enter(batch.id, {"PH": FDG_PASS["PH"]})
    r = api("qcreview").post(f"/api/v1/batches/{batch.id}/transition", json={"to_status": "QC_PASSED"})
    assert_error(r, 409, "QC_NOT_PASSED")
    enter(batch.id, {k: v for k, v in FDG_PASS.items() if k != "PH"})
    attach_required(batch.id)
    api("qc").post(f"/api/v1/batches/{batch.id}/qc-session/submit", json={})
    api("qcreview").post(f"/api/v1/batches/{batch.id}/qc-session/review", json={"decision": "APPROVE"})
    enter(batch.id, {"STERILITY": {"pass_fail_value": "FAIL"}})  # after-release failure
    r = api("qp").post(f"/api/v1/batches/{batch.id}/transition", json={"to_status": "QP_REVIEW"})
    assert_error(r, 409, "QC_NOT_PASSED")


# --- attachments --------------------------------------------------------------------------------------


@pytest.fixture
def rcp_row(api):
    batch = make_batch()
    enter(batch.id, {"RCP": FDG_PASS["RCP"]})
    return batch.id, results_by_code(batch.id)["RCP"].id


def test_attachment_of_exactly_5_mb_is_accepted_and_counted(api, rcp_row, app):
    batch_id, rid = rcp_row
    content = PDF + b"0" * (MB5 - len(PDF))
    assert len(content) == MB5
    r = upload(api("qc"), batch_id, rid, content, "chromatogram.pdf")
    assert r.status_code == 201, r.get_json()
    att = r.get_json()["result"]
    assert (
        att["file_size_bytes"] == MB5 and att["mime_type"] == "application/pdf" and len(att["sha256"]) == 64
    )
    assert results_by_code(batch_id)["RCP"].attachments_count == 1
    stored = stored_files(app)
    assert all(not name.startswith("chromatogram") for name in stored)


def test_one_byte_over_5_mb_is_413_and_nothing_is_stored(api, rcp_row, app):
    batch_id, rid = rcp_row
    before = stored_files(app)
    r = upload(api("qc"), batch_id, rid, PDF + b"0" * (MB5 + 1 - len(PDF)), "big.pdf")
    assert_error(r, 413, "FILE_TOO_LARGE")
    assert stored_files(app) == before
    assert results_by_code(batch_id)["RCP"].attachments_count == 0


def test_declared_oversized_body_is_refused_before_reading(api, rcp_row):
    batch_id, rid = rcp_row
    client = api("qc")
    r = client.post(
        f"/api/v1/batches/{batch_id}/qc-results/{rid}/attachments",
        data=b"x" * 10,
        content_type="multipart/form-data; boundary=b",
        environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)},
    )
    assert_error(r, 413, "FILE_TOO_LARGE")


@pytest.mark.parametrize(
    "content,name",
    [
        (b"MZ\x90\x00\x03" + b"\x00" * 200, "report.pdf"),  # a Windows executable renamed
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "report.png"),  # an ELF binary renamed
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "photo.pdf"),  # a PNG with the wrong extension
        (b"PK\x03\x04" + b"\x00" * 50, "report.docx"),  # a zip that is not a Word document
        (b"<html><script>alert(1)</script></html>", "report.html"),
    ],
)
def test_wrong_types_are_415(api, rcp_row, content, name):
    batch_id, rid = rcp_row
    assert_error(upload(api("qc"), batch_id, rid, content, name), 415, "FILE_TYPE_NOT_ALLOWED")


def test_docx_and_png_accepted_and_download_follows_batch_visibility(api, rcp_row):
    batch_id, rid = rcp_row
    analyst = api("qc")
    assert upload(analyst, batch_id, rid, docx_bytes(), "LAL report.docx").status_code == 201
    r = upload(analyst, batch_id, rid, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "../../etc/photo.png")
    assert r.status_code == 201 and r.get_json()["result"]["file_name"] == "photo.png"
    att_id = r.get_json()["id"]
    url = f"/api/v1/batches/{batch_id}/qc-attachments/{att_id}"
    got = api("auditor").get(url)
    assert got.status_code == 200 and got.data.startswith(b"\x89PNG")
    assert_error(api("hospital").get(url), 403)
    assert_error(analyst.get(f"/api/v1/batches/{batch_id + 1}/qc-attachments/{att_id}"), 404)
    assert_error(upload(analyst, batch_id, rid, b"", "empty.pdf"), 422)


def test_samples_through_the_api(api):
    batch = make_batch(samples=False)
    analyst = api("qc")
    r = analyst.post(
        f"/api/v1/batches/{batch.id}/qc-samples", json={"sample_type": "STERILITY", "note": "2 vials"}
    )
    assert r.status_code == 201 and r.get_json()["result"]["sample_type_label"] == "Sterility"
    assert_error(analyst.post(f"/api/v1/batches/{batch.id}/qc-samples", json={"sample_type": "X"}), 422)
    assert_error(
        api("qp").post(f"/api/v1/batches/{batch.id}/qc-samples", json={"sample_type": "STERILITY"}), 403
    )
    samples = analyst.get(f"/api/v1/batches/{batch.id}/qc-session").get_json()["samples"]
    assert [s["sample_type"] for s in samples] == ["STERILITY"]

"""QC pages: catalog admin, template builder, batch QC table; forms call the same services as the API."""

from __future__ import annotations

import io
import json

import pytest
from flask import g
from sqlalchemy import select

from app.core.extensions import db
from app.masterdata.models import Product
from app.qc import service as qc
from app.qc import template_queries as qc_template_queries
from app.qc.models import QcTestDefinition
from tests.conftest import login_page
from tests.qc_factories import FDG_PASS, PDF, attach_required, enter, make_batch, results_by_code


@pytest.fixture
def as_user(app, client):
    """Sign the test client in as `username` (clearing the request globals the test context keeps)."""

    def _login(username: str):
        for key in list(vars(g)):
            g.pop(key, None)
        client.get("/logout/")
        for key in list(vars(g)):
            g.pop(key, None)
        return login_page(client, username)

    return _login


def pid(code: str) -> int:
    return db.session.execute(select(Product.id).where(Product.code == code)).scalar_one()


def text(resp) -> str:
    return resp.get_data(as_text=True)


# --- catalog ------------------------------------------------------------------------------------------


def test_catalog_list_search_and_active_filter(as_user):
    c = as_user("qcmanager")
    r = c.get("/admin/qc/test-definitions/list/")
    assert r.status_code == 200 and "ENDOTOXIN" in text(r) and "QC test definitions" in text(r)
    r = c.get("/admin/qc/test-definitions/list/?_flt_2_name_en=Sterility")
    assert "STERILITY" in text(r) and "ENDOTOXIN" not in text(r)
    ph = db.session.execute(select(QcTestDefinition).where(QcTestDefinition.code == "VOLUME")).scalar_one()
    ph.active = False
    db.session.flush()
    r = c.get("/admin/qc/test-definitions/list/?_flt_1_active=y")
    assert "VOLUME" in text(r) and "ENDOTOXIN" not in text(r)


def test_catalog_add_goes_through_the_service_and_refuses_duplicates(as_user):
    c = as_user("qcmanager")
    form = {
        "code": "OSMO",
        "name_en": "Osmolality",
        "result_type": "NUMERIC",
        "unit": "mOsm/kg",
        "decimal_places": "0",
        "active": "y",
    }
    r = c.post("/admin/qc/test-definitions/add", data=form)
    assert r.status_code == 302
    assert db.session.execute(select(QcTestDefinition).where(QcTestDefinition.code == "OSMO")).scalar_one()
    r = c.post("/admin/qc/test-definitions/add", data=form, follow_redirects=True)
    assert "already exists" in text(r).lower()


def test_analyst_reads_the_catalog_but_cannot_add(as_user):
    c = as_user("qc")
    assert c.get("/admin/qc/test-definitions/list/").status_code == 200
    r = c.post("/admin/qc/test-definitions/add", data={"code": "X", "name_en": "X", "result_type": "NUMERIC"})
    assert (
        r.status_code in (302, 403)
        and db.session.execute(select(QcTestDefinition).where(QcTestDefinition.code == "X")).first() is None
    )


# --- template builder -----------------------------------------------------------------------------------


def test_builder_shows_versions_lines_and_signature(as_user):
    c = as_user("qcmanager")
    r = c.get(f"/products/{pid('FDG')}/qc-template")
    body = text(r)
    assert r.status_code == 200
    for words in (
        "Version 1",
        "4.5–8.5",
        "≥95%",
        "&lt; 175/15 mL = 11.7 EU/mL",
        "105–115 min",
        "Signed electronically by",
        "New version from v1",
        "After release",
    ):
        assert words in body, words
    assert c.get("/products/qc-templates").status_code == 200


def test_builder_new_version_save_and_activate_through_the_page(as_user):
    c = as_user("qcmanager")
    product = pid("NAF")
    r = c.post(f"/products/{product}/qc-template/versions", data={"change_summary": "tighten pH"})
    assert r.status_code == 302
    draft = qc_template_queries.draft_template(product)
    lines = [qc_template_queries.line_dict(ln) for ln in draft.lines]
    lines[1]["rule"].update(min_value="5.0", max_value="7.5")
    r = c.post(
        f"/products/{product}/qc-template/{draft.id}/lines",
        json={"lines": lines},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200 and r.get_json()["redirect"].endswith(f"version={draft.id}")
    r = c.post(
        f"/products/{product}/qc-template/{draft.id}/lines",
        json={"lines": [{"test_code": "NOPE"}]},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 422 and r.get_json()["code"] == "VALIDATION_ERROR"
    r = c.post(
        f"/products/{product}/qc-template/{draft.id}/activate",
        data={"password": "wrong-password", "meaning": "Approve"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 403 and r.get_json()["code"] == "SIGNATURE_INVALID"
    r = c.post(
        f"/products/{product}/qc-template/{draft.id}/activate",
        data={"password": "radiopharma-demo", "meaning": "Approve"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200
    assert qc_template_queries.active_template(product).id == draft.id


def test_builder_is_read_only_for_analysts_and_hidden_from_hospitals(as_user):
    c = as_user("qc")
    body = text(c.get(f"/products/{pid('FDG')}/qc-template"))
    assert "4.5–8.5" in body and "New version" not in body and "Activate" not in body
    c = as_user("hospital")
    assert c.get(f"/products/{pid('FDG')}/qc-template").status_code in (302, 403)


# --- batch QC table -------------------------------------------------------------------------------------


def test_batch_qc_table_matches_the_qc_document(as_user):
    batch = make_batch()
    c = as_user("qc")
    r = c.get(f"/batches/{batch.id}/qc")
    body = text(r)
    assert r.status_code == 200
    for words in (
        ">Test<",
        ">Criteria<",
        ">Result<",
        ">Status<",
        "0/15 tests completed",
        "Save Draft",
        "Submit for Review",
        "Pending only",
        "Failed only",
        "HPLC",
        "الأس الهيدروجيني",
        "EU/mL",
        "(result rounded to 1 decimal)",
    ):
        assert words in body, words


def test_evaluate_previews_without_storing(as_user):
    batch = make_batch()
    c = as_user("qc")
    ph = results_by_code(batch.id)["PH"]
    r = c.post(
        f"/batches/{batch.id}/qc/evaluate",
        json={"result_id": ph.id, "numeric_value": "4.4"},
        headers={"Accept": "application/json"},
    )
    assert r.get_json() == {
        "ok": True,
        "status": "FAIL",
        "status_label": "Fail",
        "fail_reason": "Out of range: 4.4 < 4.5",
        "alert_reason": None,
        "needs_verdict": False,
        "overridden": False,
    }
    r = c.post(
        f"/batches/{batch.id}/qc/evaluate",
        json={"result_id": ph.id, "numeric_value": "abc"},
        headers={"Accept": "application/json"},
    )
    assert r.get_json()["ok"] is False and "number" in r.get_json()["userMessage"]
    assert results_by_code(batch.id)["PH"].value_version == 0


def test_save_draft_then_submit_from_the_page(as_user):
    batch = make_batch()
    rows = results_by_code(batch.id)
    c = as_user("qc")
    form = {
        f"pf_present_{rows['VISUAL'].id}": "1",
        f"pf_{rows['VISUAL'].id}": "PASS",
        f"numeric_{rows['PH'].id}": "6,2",
        f"numeric_{rows['RCP'].id}": "",
    }
    r = c.post(f"/batches/{batch.id}/qc/save", data={**form, "intent": "save"}, follow_redirects=True)
    assert "Draft saved: 2 results recorded." in text(r) and "2/15 tests completed" in text(r)
    # A change to a recorded value without a reason is refused with the message, and nothing changes.
    r = c.post(
        f"/batches/{batch.id}/qc/save",
        data={f"numeric_{rows['PH'].id}": "6.4", "intent": "save"},
        headers={"Referer": f"/batches/{batch.id}/qc"},
        follow_redirects=True,
    )
    assert "give a reason for the correction" in text(r)
    enter(batch.id, {k: v for k, v in FDG_PASS.items() if k not in ("VISUAL", "PH")})
    attach_required(batch.id)
    r = c.post(f"/batches/{batch.id}/qc/save", data={"intent": "submit"}, follow_redirects=True)
    assert "Results submitted for review." in text(r)
    assert qc.get_session(batch.id)[1].status == "WAITING_REVIEW"


def test_reviewer_approves_and_the_analyst_is_kept_out(as_user):
    batch = make_batch()
    enter(batch.id, FDG_PASS)
    attach_required(batch.id)
    qc.submit_session(batch.id, actor=__import__("tests.qc_factories", fromlist=["actor"]).actor("qc"))
    c = as_user("qc")
    assert "Approve" not in text(c.get(f"/batches/{batch.id}/qc"))
    c = as_user("qcreview")
    assert "Approve…" in text(c.get(f"/batches/{batch.id}/qc"))
    r = c.post(
        f"/batches/{batch.id}/qc/review", data={"decision": "APPROVE", "note": ""}, follow_redirects=True
    )
    assert "QC results approved. Session: Passed." in text(r)


def test_page_upload_413_415_and_success(as_user, app):
    batch = make_batch()
    enter(batch.id, {"RCP": FDG_PASS["RCP"]})
    rid = results_by_code(batch.id)["RCP"].id
    c = as_user("qc")
    url = f"/batches/{batch.id}/qc/rows/{rid}/attachments"
    big = PDF + b"0" * (app.config["QC_ATTACHMENT_MAX_BYTES"] + 1 - len(PDF))
    r = c.post(
        url,
        data={"file": (io.BytesIO(big), "big.pdf")},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 413 and r.get_json()["code"] == "FILE_TOO_LARGE"
    r = c.post(
        url,
        data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 64), "x.pdf")},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 415
    r = c.post(
        url,
        data={"file": (io.BytesIO(PDF), "rcp.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Attached rcp.pdf." in text(r)
    attachments = json.loads(text(r).split('id="qc-attachments-data">')[1].split("</script>")[0])
    att = attachments[str(rid)][0]
    got = c.get(f"/batches/{batch.id}/qc/attachments/{att['id']}")
    assert got.status_code == 200 and got.data == PDF


def test_hospital_users_never_see_qc_pages(as_user):
    batch = make_batch()
    c = as_user("hospital")
    assert c.get(f"/batches/{batch.id}/qc").status_code in (302, 403)


def test_sample_recorded_from_the_page(as_user):
    batch = make_batch()
    c = as_user("qc")
    r = c.post(
        f"/batches/{batch.id}/qc/samples",
        data={"sample_type": "RELEASE_TESTING", "taken_at": "", "note": "vial 1"},
        follow_redirects=True,
    )
    body = text(r)
    assert "Release testing sample recorded." in body and "took the release testing sample" in body

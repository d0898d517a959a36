"""QC worklist and reports: queues, results, pass/fail rates, OOS list; Excel and PDF exports."""

from __future__ import annotations

import io

import pytest
from flask import g
from openpyxl import load_workbook

from app.qc import service as qc
from tests.conftest import login_page
from tests.qc_factories import FDG_PASS, actor, attach_required, enter, make_batch


@pytest.fixture
def signed_in(client):
    def _login(username: str):
        for key in list(vars(g)):
            g.pop(key, None)
        return login_page(client, username)

    return _login


@pytest.fixture
def failed_batch():
    batch = make_batch()
    enter(batch.id, {**FDG_PASS, "ENDOTOXIN": {"numeric_value": "200"}})
    attach_required(batch.id)
    qc.submit_session(batch.id, actor=actor("qc"))
    qc.review_session(batch.id, "APPROVE", actor=actor("qcreview"))
    return batch


def test_worklist_queues_batches_to_enter_and_to_review(signed_in):
    waiting = make_batch()
    enter(waiting.id, FDG_PASS)
    attach_required(waiting.id)
    qc.submit_session(waiting.id, actor=actor("qc"))
    fresh = make_batch()
    body = signed_in("qc").get("/qc/").get_data(as_text=True)
    assert fresh.batch_no in body.split('id="queue-entry"')[1].split('id="queue-review"')[0]
    assert waiting.batch_no in body.split('id="queue-review"')[1]


def test_reports_show_results_rates_and_oos(signed_in, failed_batch):
    c = signed_in("qcmanager")
    body = c.get("/qc/reports?report=results").get_data(as_text=True)
    assert failed_batch.batch_no in body and "Out of range: 200.0 ≥ 11.7 (must be below)" in body
    body = c.get("/qc/reports?report=rates").get_data(as_text=True)
    assert "Bacterial Endotoxins" in body and "0.0%" in body
    body = c.get("/qc/reports?report=oos").get_data(as_text=True)
    assert failed_batch.batch_no in body and "Whole session" not in body


def test_excel_and_pdf_exports(signed_in, failed_batch):
    c = signed_in("qcmanager")
    r = c.get("/qc/reports/export.xlsx?report=results")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[3][:3] == ["Product", "Batch", "Test"]
    assert any(row[1] == failed_batch.batch_no and row[5] == "FAIL" for row in values[4:])
    r = c.get("/qc/reports/export.pdf?report=oos")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages)
    assert "Out-of-specification list" in text and failed_batch.batch_no in text and "Page 1 of 1" in text


def test_bad_filters_are_explained_not_500(signed_in):
    c = signed_in("qcmanager")
    r = c.get("/qc/reports?report=results&date_from=yesterday")
    assert r.status_code == 200 and "not a date" in r.get_data(as_text=True)
    r = c.get(
        "/qc/reports/export.xlsx?date_from=2026-01-02&date_to=2026-01-01",
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 422
    assert c.get("/qc/reports/export.doc").status_code == 404


def test_hospital_users_have_no_qc_reports(signed_in):
    assert signed_in("hospital").get("/qc/reports").status_code in (302, 403)

"""Instrument import: the preview refuses bad rows row by row and writes nothing; applying records the
good rows through the manual entry's service (evaluated, audited); corrections need a reason; the
import and its file are kept; page and API; 5 MB; formula-looking text kept as sent, exported neutral."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from app.audit.models import AuditLog
from app.core.domain import DomainError
from app.core.extensions import db
from app.qc import imports as qc_imports
from app.qc.imports_models import QcImport
from app.qc.models import BatchQcResultValue
from tests.conftest import login_page
from tests.qc_factories import actor, enter, make_batch, results_by_code


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch):
    monkeypatch.setattr("app.core.jobs._enqueue", lambda *a, **k: None)


@pytest.fixture(autouse=True)
def _fresh_g(monkeypatch):
    from flask import g

    from tests.conftest import Api

    original = Api._do

    def _do(self, method, url, **kw):
        for key in list(vars(g)):
            g.pop(key, None)
        return original(self, method, url, **kw)

    monkeypatch.setattr(Api, "_do", _do)


def row(batch, code, value, unit=None, at="2026-03-01T10:00:00+00:00", instrument="HPLC-1", **kw):
    unit = results_by_code(batch.id)[code].unit if unit is None else unit
    return {
        "batch_no": batch.batch_no,
        "test_code": code,
        "value": value,
        "unit": unit or "",
        "measured_at": at,
        "instrument_id": instrument,
        **kw,
    }


def csv_of(rows) -> bytes:
    cols = [*qc_imports.COLUMNS, "reason"]
    lines = [",".join(cols)] + [",".join(str(r.get(c, "")) for c in cols) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def errors_by_line(item) -> dict[int, list[str]]:
    return {r["line"]: r["errors"] for r in item.preview}


def test_preview_refuses_bad_rows_row_by_row_and_writes_nothing(app_ctx):
    batch = make_batch()
    planned = make_batch(to="PLANNED")
    values_before = db.session.execute(select(BatchQcResultValue)).scalars().all()
    rows = [
        row(batch, "PH", "6.2"),  # 1 good
        row(batch, "RCP", "98.4", unit="mg"),  # 2 wrong unit
        row(batch, "FDM", "=1+2"),  # 3 not numeric (a formula)
        {**row(batch, "PH", "6.0"), "batch_no": "FDG-NOPE-01"},  # 4 unknown batch
        {**row(batch, "PH", "6.0"), "test_code": "NOPE"},  # 5 unknown test
        row(planned, "PH", "6.1"),  # 6 batch not in QC
        row(batch, "RCP", "98.4", at="2026-03-29T02:30:00"),  # 7 local time skipped (Europe) or fine
        row(batch, "CLDG", "0.01", at="yesterday"),  # 8 time not parseable
        row(batch, "VISUAL", "1"),  # 9 not a numeric test
        row(batch, "PH", "6.3"),  # 10 the same test twice
    ]
    item = qc_imports.preview_import(rows, source="API", content=json.dumps(rows), actor=actor("qc"))
    errs = errors_by_line(item)
    assert errs[1] == []
    assert any("unit 'mg'" in e for e in errs[2])
    assert any("not a number" in e for e in errs[3])
    assert any("unknown batch FDG-NOPE-01" in e for e in errs[4])
    assert any("unknown test NOPE" in e for e in errs[5])
    assert any("not in QC" in e for e in errs[6])
    assert any("not a date" in e for e in errs[8])
    assert any("result" in e for e in errs[9])
    assert any("twice" in e for e in errs[10])
    assert item.rows_total == 10 and item.status == "PREVIEWED"
    assert item.preview[0]["kind"] == "ENTRY" and item.preview[0]["verdict"] == "PASS"
    # nothing entered
    assert db.session.execute(select(BatchQcResultValue)).scalars().all() == values_before
    assert results_by_code(batch.id)["PH"].value_version == 0


def test_local_time_the_site_skips_is_refused(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "SITE_TIMEZONE", "Europe/Berlin")
    batch = make_batch()
    item = qc_imports.preview_import(
        [row(batch, "PH", "6.2", at="2026-03-29T02:30:00")], source="API", content="[]", actor=actor("qc")
    )
    assert any("does not exist" in e for e in item.preview[0]["errors"])


def test_apply_records_good_rows_through_the_qc_service(app_ctx):
    batch = make_batch()
    rows = [row(batch, "PH", "6.2"), row(batch, "RCP", "90.0"), row(batch, "FDM", "abc")]
    item = qc_imports.preview_import(rows, source="API", content="[]", actor=actor("qc"))
    applied = qc_imports.apply_import(item.id, actor=actor("qc"))
    assert applied.status == "APPLIED" and applied.rows_applied == 2
    results = results_by_code(batch.id)
    assert results["PH"].status == "PASS" and results["PH"].entered_by_name
    assert results["RCP"].status == "FAIL"  # evaluated by the frozen criterion like manual entry
    assert results["FDM"].value_version == 0
    audits = (
        db.session.execute(
            select(AuditLog.action).where(
                AuditLog.entity_type == "BatchQcResult", AuditLog.entity_id == str(results["PH"].id)
            )
        )
        .scalars()
        .all()
    )
    assert "ENTER_RESULT" in audits
    with pytest.raises(DomainError) as err:
        qc_imports.apply_import(item.id, actor=actor("qc"))
    assert err.value.code == "IMPORT_APPLIED"


def test_correction_through_import_needs_a_reason(app_ctx):
    batch = make_batch()
    enter(batch.id, {"PH": {"numeric_value": "6.2"}})
    item = qc_imports.preview_import([row(batch, "PH", "6.4")], source="API", content="[]", actor=actor("qc"))
    assert item.preview[0]["kind"] == "CORRECTION" and item.preview[0]["previous"].startswith("6.2")
    with pytest.raises(DomainError) as err:
        qc_imports.apply_import(item.id, actor=actor("qc"))
    assert err.value.code == "REASON_REQUIRED"
    assert db.session.get(QcImport, item.id).status == "PREVIEWED"
    assert results_by_code(batch.id)["PH"].value_version == 1
    applied = qc_imports.apply_import(item.id, reason="Re-measured after calibration", actor=actor("qc"))
    assert applied.rows_applied == 1
    ph = results_by_code(batch.id)["PH"]
    assert ph.value_version == 2
    last = db.session.execute(
        select(BatchQcResultValue).where(
            BatchQcResultValue.result_id == ph.id, BatchQcResultValue.version == 2
        )
    ).scalar_one()
    assert last.kind == "CORRECTION" and last.reason == "Re-measured after calibration"


def test_page_upload_preview_apply_list_and_neutral_export(app, client, db_session):
    with app.test_request_context():
        batch = make_batch()
        rows = [row(batch, "PH", "6.2", instrument='=HYPERLINK("http://x")'), row(batch, "RCP", "x")]
    login_page(client, "qc")
    r = client.post(
        "/qc/imports/upload",
        data={"file": (io.BytesIO(csv_of(rows).replace(b'"', b"")), "hplc.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.data[:300]
    page = client.get(r.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "not a number" in html and "Record the 1 valid row" in html
    assert "=HYPERLINK(http://x)" in html  # stored and shown as sent (escaped by Jinja)
    import_id = int(r.headers["Location"].rstrip("/").split("/")[-1])
    export = client.get(f"/qc/imports/{import_id}/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in export
    r = client.post(f"/qc/imports/{import_id}/apply", data={})
    assert r.status_code == 302
    assert "1 result recorded; 1 row refused." in client.get(r.headers["Location"]).get_data(as_text=True)
    listing = client.get("/qc/imports/").get_data(as_text=True)
    assert "hplc.csv" in listing and f"#{import_id}" in listing
    kept = db.session.get(QcImport, import_id)
    assert kept.filename == "hplc.csv" and "HYPERLINK" in kept.content and kept.rows_applied == 1


def test_api_preview_then_apply_and_errors(app, client, db_session, api):
    with app.test_request_context():
        batch = make_batch()
        rows = [
            row(batch, "PH", "6.2"),
            row(batch, "FDM", "1.2", unit="%"),
            {**row(batch, "PH", "1"), "batch_no": "X"},
        ]
    qc = api("qc")
    r = qc.post("/api/v1/qc/imports", json={"rows": rows})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["result"]["rows_valid"] == 2 or body["result"]["rows_total"] == 3
    lines = {x["line"]: x for x in body["result"]["rows"]}
    assert lines[3]["errors"] and "unknown batch X" in lines[3]["errors"][0]
    r = qc.post(f"/api/v1/qc/imports/{body['id']}/apply", json={})
    assert r.status_code == 200 and r.get_json()["result"]["status"] == "APPLIED"
    assert qc.post(f"/api/v1/qc/imports/{body['id']}/apply", json={}).status_code == 409
    assert qc.get(f"/api/v1/qc/imports/{body['id']}").get_json()["result"]["rows_applied"] >= 1
    assert qc.get("/api/v1/qc/imports").get_json()["count"] >= 1
    assert qc.post("/api/v1/qc/imports", json={"rows": []}).status_code == 422
    assert qc.post("/api/v1/qc/imports", json={"nope": 1}).get_json()["code"] == "VALIDATION_ERROR"
    # permissions: QP reads QC but does not enter results; hospitals do not see QC imports
    assert api("qp").post("/api/v1/qc/imports", json={"rows": rows}).status_code == 403
    assert api("hospital").get("/api/v1/qc/imports").status_code == 403


def test_api_csv_over_5_mb_is_413(app, client, db_session, api):
    big = b"batch_no,test_code,value,unit,measured_at,instrument_id\n" + b"x" * (5 * 1024 * 1024 + 10)
    r = api("qc").post(
        "/api/v1/qc/imports", data={"file": (io.BytesIO(big), "big.csv")}, content_type="multipart/form-data"
    )
    assert r.status_code == 413

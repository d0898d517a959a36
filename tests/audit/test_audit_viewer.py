"""The audit viewer: Admin and Auditor only; filters, readable diff, CSV export, chain verification."""

from __future__ import annotations

import csv
import io

from app.audit import service as audit
from app.core.actor import SYSTEM
from tests.conftest import login_page


def _entries(db_session):
    audit.record(
        "Product",
        901,
        "UPDATE",
        before={"name_en": "Old name", "shelf_life_min": 600},
        after={"name_en": "New name", "shelf_life_min": 600},
        reason="Typo in label name",
        actor=SYSTEM,
        trace_id="trace-viewer-1",
    )
    audit.record(
        "Customer",
        902,
        "CREATE",
        after={"name": "King Faisal Hospital"},
        actor=SYSTEM,
        trace_id="trace-viewer-2",
    )
    db_session.flush()


def test_auditor_filters_by_entity_and_sees_readable_diff(client, db_session):
    _entries(db_session)
    login_page(client, "auditor")
    r = client.get("/audit/?entity_type=Product&entity_id=901")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Typo in label name" in html and "Old name" in html and "New name" in html
    assert "King Faisal Hospital" not in html
    # unchanged fields are not shown as changes
    assert "shelf_life_min" not in html


def test_filter_by_trace_id_and_action(client, db_session):
    _entries(db_session)
    login_page(client, "admin")
    html = client.get("/audit/?trace_id=trace-viewer-2").get_data(as_text=True)
    assert "King Faisal Hospital" in html and "Typo in label name" not in html
    html = client.get("/audit/?action=CREATE&entity_type=Customer").get_data(as_text=True)
    assert "King Faisal Hospital" in html


def test_bad_date_shows_message_not_error(client, db_session):
    login_page(client, "auditor")
    r = client.get("/audit/?date_from=22-11-2026")
    assert r.status_code == 200
    assert "Use a date like 2026-11-22." in r.get_data(as_text=True)


def test_csv_export_contains_filtered_rows_with_changes(client, db_session):
    _entries(db_session)
    login_page(client, "auditor")
    r = client.get("/audit/export.csv?entity_type=Product&entity_id=901")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 1
    assert rows[0]["reason"] == "Typo in label name"
    assert "'Old name' -> 'New name'" in rows[0]["changes"]
    assert len(rows[0]["hash"]) == 64


def test_verify_now_records_result(client, db_session):
    login_page(client, "auditor")
    r = client.post("/audit/verify", follow_redirects=True)
    assert r.status_code == 200
    assert "OK " in r.get_data(as_text=True) and "entries" in r.get_data(as_text=True)


def test_other_roles_cannot_open_the_audit_viewer(client, db_session):
    login_page(client, "planner")
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403

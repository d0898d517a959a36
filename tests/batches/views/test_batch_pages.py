"""The batch list and journey pages, their guided actions, saved views and exports (test client)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from app.batches.models import BatchEvent
from tests.batch_page_factories import journey
from tests.conftest import login_page

JSON = {"Accept": "application/json"}
DISPENSING_MESSAGE = "You can't start dispensing before QP releases the batch."


def page(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.data[:300])
    return r.get_data(as_text=True)


def events_of(db_session, batch_id: int) -> list[BatchEvent]:
    return list(
        db_session.execute(
            select(BatchEvent)
            .where(BatchEvent.batch_id == batch_id)
            .order_by(BatchEvent.occurred_at, BatchEvent.id)
        ).scalars()
    )


# --- the list ---------------------------------------------------------------------------------------
def test_list_filters_by_status_with_a_removable_chip_and_kpi_cards(client, app_ctx):
    scheduled = journey("SCHEDULED")
    held = journey("ON_HOLD")
    login_page(client, "prod")
    html = page(client, "/batches/?status=SCHEDULED")
    assert scheduled.batch_no in html and held.batch_no not in html
    chip = re.search(r'data-chip="status".*?href="([^"]+)"', html, re.S)
    assert chip and "status=" not in chip.group(1)
    assert "Clear all" in html
    for title in (
        "Batches today",
        "Awaiting QC",
        "Awaiting QP release",
        "On hold / exceptions",
        "Avg release lead time",
    ):
        assert title in html
    # The exceptions card links to the list filtered by its statuses, and marks itself active there.
    html = page(client, "/batches/?status=ON_HOLD&status=FAILED_QC&status=DEVIATION_OPEN")
    assert held.batch_no in html and scheduled.batch_no not in html
    assert re.search(r'rp-kpi-active[^>]*data-kpi="on_hold_exceptions"', html)


def test_list_quick_actions_are_the_machines_answer_for_the_role(client, app_ctx):
    scheduled = journey("SCHEDULED")
    released = journey("RELEASED")
    login_page(client, "prod")
    html = page(client, f"/batches/?q={scheduled.batch_no}")
    assert "Start production…" in html and f'data-url="/batches/{scheduled.id}/act"' in html
    html = page(client, f"/batches/?q={released.batch_no}")
    assert "data-rp-action" not in html  # Production has nothing to do on a released batch
    client.get("/logout/")
    login_page(client, "disp")
    assert "Start dispensing…" in page(client, f"/batches/?q={released.batch_no}")


def test_bad_filters_are_explained_not_a_500(client, app_ctx):
    journey("SCHEDULED")
    login_page(client, "prod")
    html = page(client, "/batches/?status=NOPE&date_from=yesterday&page_size=10000&sort=colour")
    assert "Some filters are not valid" in html and "Those filters were left out" in html


def test_sort_and_pagination_links_keep_the_filters(client, app_ctx):
    for _ in range(3):
        journey("SCHEDULED")
    login_page(client, "prod")
    html = page(client, "/batches/?status=SCHEDULED&page_size=2")
    assert "1–2</strong> of <strong>3" in html
    assert re.search(r'href="/batches/\?status=SCHEDULED&amp;page_size=2&amp;page=2"', html)
    assert re.search(
        r'href="/batches/\?status=SCHEDULED&amp;page_size=2&amp;sort=status&amp;order=asc"', html
    )


def test_a_list_larger_than_the_count_cap_says_more_than_and_pages_on(app, client, app_ctx, monkeypatch):
    """The page counts at most BATCH_LIST_COUNT_CAP matches; the API counts them all."""
    for _ in range(7):
        journey("SCHEDULED")
    monkeypatch.setitem(app.config, "BATCH_LIST_COUNT_CAP", 4)
    login_page(client, "prod")
    html = page(client, "/batches/?status=SCHEDULED&page_size=2")
    exact = client.get("/api/v1/batches?status=SCHEDULED&page_size=2").get_json()["total"]
    assert exact >= 7
    assert "1–2</strong> of more than <strong>4</strong> batches" in html
    assert "more than 4 in all, page 1" in html
    assert re.search(r'href="/batches/\?status=SCHEDULED&amp;page_size=2&amp;page=2"[^>]*rel="next"', html)
    last_page = (exact + 1) // 2  # at least 4: the pager links pages 1 and 2 and no last page
    assert f'page={last_page}"' not in html and "…" in html
    second = page(client, "/batches/?status=SCHEDULED&page_size=2&page=2")
    assert "3–4</strong> of more than <strong>4</strong>" in second
    past = page(client, "/batches/?status=SCHEDULED&page_size=2&page=3")  # beyond the cap: counted exactly
    assert f"5–6</strong> of <strong>{exact}</strong>" in past
    monkeypatch.setitem(app.config, "BATCH_LIST_COUNT_CAP", 1000)
    assert f"of <strong>{exact}</strong>" in page(client, "/batches/?status=SCHEDULED&page_size=2")


def test_partial_refresh_returns_only_the_results(client, app_ctx):
    journey("SCHEDULED")
    login_page(client, "prod")
    r = client.get("/batches/?status=SCHEDULED", headers={"X-RP-Partial": "1"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'class="rp-results"' in html and "<html" not in html


# --- the journey ------------------------------------------------------------------------------------
def test_journey_shows_header_next_step_stepper_timeline_and_tabs(client, app_ctx):
    batch = journey("QP_REVIEW")
    login_page(client, "prod")
    html = page(client, f"/batches/{batch.id}")
    assert "What's next" in html and "Release batch" in html and "Owner: <strong>QP</strong>" in html
    assert "Waiting for QP." in html
    assert html.count('class="rp-step rp-step-done"') == 3 and "rp-step-current" in html
    assert "Blocked: QP Release pending" in html
    assert "QC Passed" in html and "(Asia/Riyadh)" in html  # timeline titles, local time with zone
    for tab in ("Overview", "Orders", "Dose Units", "Materials / Genealogy", "QC", "Release", "Logistics"):
        assert f"</i> {tab}</a>" in html
    assert "</i> Audit</a>" not in html  # Production is not Admin/Auditor
    for tab, text in (
        ("orders", "No orders linked to this batch yet"),
        ("dose-units", "Blocked: QP Release pending."),
        ("materials", "No material lots recorded"),
        ("logistics", "No shipment yet"),
        ("release", "QP release"),
        ("qc", "Quality control"),
    ):
        assert text in page(client, f"/batches/{batch.id}?tab={tab}"), tab


def test_internal_roles_see_metadata_auditor_sees_the_audit_tab(client, app_ctx):
    batch = journey("IN_PRODUCTION")
    login_page(client, "auditor")
    html = page(client, f"/batches/{batch.id}?tab=audit")
    assert "<summary>Details</summary>" not in html  # the audit tab does not show the timeline
    assert f"/batches/{batch.id}/audit-panel" in html
    panel = page(client, f"/batches/{batch.id}/audit-panel")
    assert "STATUS_CHANGE" in panel and "CREATE" in panel
    html = page(client, f"/batches/{batch.id}")
    assert "<summary>Details</summary>" in html and "trace id" in html


def test_hospital_sees_own_batches_without_metadata_or_audit_and_is_refused_others(client, app_ctx):
    own = journey("DISPATCHED", customers=("KFSH",))
    other = journey("DISPATCHED", customers=("KAMC",))
    login_page(client, "hospital")
    html = page(client, "/batches/")
    assert own.batch_no in html and other.batch_no not in html
    # no customer, hot cell or "My batches" filters for a customer
    assert 'id="f-customer"' not in html and 'id="f-hot-cell"' not in html and 'name="mine"' not in html
    html = page(client, f"/batches/{own.id}")
    assert "<summary>Details</summary>" not in html and "trace id" not in html
    assert "</i> Audit</a>" not in html and "data-rp-action" not in html
    assert "KAMC" not in html
    for url in (f"/batches/{other.id}", f"/batches/{other.id}/export.csv", f"/batches/{own.id}/audit-panel"):
        assert client.get(url).status_code in (403, 404), url
    assert client.get(f"/batches/{other.id}").status_code == 404
    # The role matrix gives hospitals no export: no buttons, and the URL is refused.
    assert "Export logs" not in html and client.get(f"/batches/{own.id}/export.csv").status_code == 403


# --- guided actions ---------------------------------------------------------------------------------
def test_start_production_from_the_dialog_writes_the_event_with_the_checklist(client, app_ctx, db_session):
    batch = journey("SCHEDULED")
    login_page(client, "prod")
    r = client.post(
        f"/batches/{batch.id}/act",
        data={"to_status": "IN_PRODUCTION", "version": batch.version, "note": "Cassette FL-2291",
              "checklist": ["0", "1", "2"], "next": "/batches/?status=SCHEDULED"},
        headers=JSON,
    )  # fmt: skip
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["redirect"] == "/batches/?status=SCHEDULED"
    last = events_of(db_session, batch.id)[-1]
    assert (last.to_status, last.note, last.actor_role) == ("IN_PRODUCTION", "Cassette FL-2291", "Production")
    assert len(last.meta["checklist"]) == 3 and last.meta["source"] == "batch page"


def test_dialog_refusals_come_back_as_the_servers_user_message(client, app_ctx):
    batch = journey("SCHEDULED")
    login_page(client, "prod")
    r = client.post(
        f"/batches/{batch.id}/act", data={"to_status": "IN_PRODUCTION", "checklist": ["0"]}, headers=JSON
    )
    assert r.status_code == 422 and r.get_json()["code"] == "CHECKLIST_INCOMPLETE"
    assert "Reagent kit" in r.get_json()["userMessage"]
    r = client.post(
        f"/batches/{batch.id}/act", data={"to_status": "IN_PRODUCTION", "checklist": ["0", "1", "2"], "version": "1"},
        headers=JSON,
    )  # fmt: skip
    assert r.status_code == 409 and r.get_json()["code"] == "CONFLICT"
    r = client.post(f"/batches/{batch.id}/act", data={"to_status": "CANCELLED"}, headers=JSON)
    assert r.status_code == 403 and r.get_json()["userMessage"] == "Only Planner can cancel batch."


def test_dispensing_is_not_offered_before_release_and_the_gate_message_is_exact(client, app_ctx, api):
    batch = journey("QP_REVIEW")
    login_page(client, "disp")
    html = page(client, f"/batches/{batch.id}")
    assert "Start dispensing" not in html and "data-rp-action" not in html
    r = client.post(f"/batches/{batch.id}/act", data={"to_status": "DISPENSING_IN_PROGRESS"}, headers=JSON)
    assert r.get_json()["userMessage"] == DISPENSING_MESSAGE
    r = api("disp").post(
        f"/api/v1/batches/{batch.id}/transition", json={"to_status": "DISPENSING_IN_PROGRESS"}
    )
    assert r.status_code == 409 and r.get_json()["code"] == "DISPENSING_BEFORE_RELEASE"
    assert r.get_json()["userMessage"] == DISPENSING_MESSAGE


def test_action_without_javascript_redirects_with_a_flash(client, app_ctx):
    batch = journey("SCHEDULED")
    login_page(client, "prod")
    r = client.post(
        f"/batches/{batch.id}/act", data={"to_status": "IN_PRODUCTION", "checklist": ["0", "1", "2"]}
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/batches/{batch.id}")
    assert "Production Started" in page(client, f"/batches/{batch.id}")
    # an off-site `next` is never followed
    other = journey("SCHEDULED")
    r = client.post(
        f"/batches/{other.id}/act",
        data={"to_status": "IN_PRODUCTION", "checklist": ["0", "1", "2"], "next": "//evil.example/x"},
    )
    assert r.headers["Location"].endswith(f"/batches/{other.id}")


def test_roles_without_transition_get_no_buttons_and_403(client, app_ctx):
    batch = journey("SCHEDULED")
    login_page(client, "auditor")
    assert "data-rp-action" not in page(client, f"/batches/{batch.id}")
    r = client.post(f"/batches/{batch.id}/act", data={"to_status": "IN_PRODUCTION"}, headers=JSON)
    assert r.status_code == 403


def test_notes_and_metadata_are_escaped(client, app_ctx):
    batch = journey("SCHEDULED")
    login_page(client, "prod")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = client.post(
        f"/batches/{batch.id}/act",
        data={"to_status": "IN_PRODUCTION", "checklist": ["0", "1", "2"], "note": evil},
        headers=JSON,
    )
    assert r.status_code == 200
    html = page(client, f"/batches/{batch.id}")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_page_posts_need_the_csrf_token(app, make_app):
    """The check happens before the view: no batch is needed (and no open test transaction, which
    would hold the locks the second app's login waits for)."""
    strict = make_app(WTF_CSRF_ENABLED=True)
    c = strict.test_client()
    login = c.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    c.post("/login/", data={"username": "prod", "password": "radiopharma-demo", "csrf_token": token})
    r = c.post("/batches/1/act", data={"to_status": "IN_PRODUCTION"}, headers=JSON)
    assert r.status_code == 400 and r.get_json()["code"] == "CSRF_FAILED"
    r = c.post("/batches/views", data={"name": "x"}, headers=JSON)
    assert r.status_code == 400


# --- saved views ------------------------------------------------------------------------------------
def test_saved_view_round_trip(client, app_ctx):
    journey("ON_HOLD")
    login_page(client, "qp")
    r = client.post("/batches/views", data={"name": "  My holds ", "query": "status=ON_HOLD&page=3&bogus=1"})
    assert r.status_code == 302
    location = r.headers["Location"]
    assert "status=ON_HOLD" in location and "page=" not in location and "bogus" not in location
    view_id = int(location.rsplit("view=", 1)[1])
    html = page(client, "/batches/")
    assert "My holds" in html
    assert client.get(f"/batches/views/{view_id}").headers["Location"] == location
    # duplicate names (ignoring case) are refused with a message
    client.post("/batches/views", data={"name": "my holds", "query": ""}, headers={"Referer": "/batches/"})
    assert "You already have a view called" in page(client, "/batches/")
    client.post(f"/batches/views/{view_id}/rename", data={"name": "QP holds"})
    assert "QP holds" in page(client, "/batches/")
    # another user can't apply, rename or delete it
    client.get("/logout/")
    login_page(client, "prod")
    assert client.get(f"/batches/views/{view_id}").status_code == 404
    assert "QP holds" not in page(client, "/batches/")
    client.get("/logout/")
    login_page(client, "qp")
    client.post(f"/batches/views/{view_id}/delete")
    html = page(client, "/batches/")
    assert "Saved view “QP holds” deleted." in html and f'data-view-id="{view_id}"' not in html


def test_saved_view_refuses_invalid_filters(client, app_ctx):
    login_page(client, "qp")
    r = client.post(
        "/batches/views", data={"name": "x", "query": "status=NOPE"}, headers={"Referer": "/batches/"}
    )
    assert r.status_code == 302
    assert "Some filters are not valid" in page(client, "/batches/")


# --- exports ----------------------------------------------------------------------------------------
def test_export_csv_has_every_event_with_local_and_utc_time(client, app_ctx):
    batch = journey("RELEASED")
    login_page(client, "qp")
    r = client.get(f"/batches/{batch.id}/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert f'filename="{batch.batch_no}-log.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    titles = [row["title"] for row in rows]
    assert titles[0] == "Batch Planned" and "Batch Released" in titles and "Sent to QC" in titles
    assert all(row["batch_no"] == batch.batch_no and row["timezone"] == "Asia/Riyadh" for row in rows)
    released = next(row for row in rows if row["title"] == "Batch Released")
    assert "QP certification: released for human use" in released["signature"]
    assert released["occurred_at_utc"].endswith("Z") and "trace_id" in rows[0]


def test_export_pdf_text_has_the_batch_number_and_events(client, app_ctx):
    from pypdf import PdfReader

    batch = journey("DISPATCHED", notes={"ON_HOLD": "x"})
    login_page(client, "qp")
    r = client.get(f"/batches/{batch.id}/export.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(r.data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    for expected in (batch.batch_no, "Batch Planned", "Production Started", "Batch Released", "Batch Dispatched",
                     "QP certification: released for human use", "Page 1 of", "Generated"):  # fmt: skip
        assert expected in text, expected


@pytest.mark.parametrize("note", ["تم تأجيل الدفعة حتى تأكيد نتيجة الاختبار"])
def test_export_pdf_renders_arabic_notes(client, app_ctx, note):
    from pypdf import PdfReader

    batch = journey("ON_HOLD", notes={"ON_HOLD": note})
    login_page(client, "qp")
    r = client.get(f"/batches/{batch.id}/export.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    assert "تأجيل" in text or "ﺗﺄﺟﻴﻞ" in text or "الدفعة" in text


def test_admin_override_is_offered_only_when_switched_on_and_needs_a_reason(client, app_ctx, monkeypatch):
    batch = journey("SCHEDULED")
    login_page(client, "admin")
    assert "data-rp-action" not in page(client, f"/batches/{batch.id}")
    monkeypatch.setitem(app_ctx.config, "ALLOW_ADMIN_OVERRIDE", True)
    html = page(client, f"/batches/{batch.id}")
    assert "&#34;is_override&#34;: true" in html and "Start production…" in html
    data = {"to_status": "IN_PRODUCTION", "checklist": ["0", "1", "2"], "override": "1"}
    r = client.post(f"/batches/{batch.id}/act", data=data, headers=JSON)
    assert r.status_code == 422 and r.get_json()["code"] == "NOTE_REQUIRED"
    r = client.post(
        f"/batches/{batch.id}/act", data={**data, "note": "Operator ill; QA informed."}, headers=JSON
    )
    assert r.status_code == 200
    assert "Admin override" in page(client, f"/batches/{batch.id}")


def test_deviation_opens_and_closes_through_the_dialog(client, app_ctx, db_session):
    batch = journey("IN_PRODUCTION")
    login_page(client, "prod")
    r = client.post(
        f"/batches/{batch.id}/act", data={"to_status": "DEVIATION_OPEN", "checklist": ["0"]}, headers=JSON
    )
    assert r.status_code == 422 and r.get_json()["code"] == "NOTE_REQUIRED"
    r = client.post(
        f"/batches/{batch.id}/act",
        data={"to_status": "DEVIATION_OPEN", "checklist": ["0"], "note": "Pressure alarm on line 2."},
        headers=JSON,
    )
    assert r.status_code == 200
    html = page(client, f"/batches/{batch.id}")
    assert "Blocked: deviation open" in html and "Pressure alarm on line 2." in html
    client.get("/logout/")
    login_page(client, "qcmanager")
    html = page(client, f"/batches/{batch.id}")
    assert "Close deviation…" in html
    r = client.post(
        f"/batches/{batch.id}/act",
        data={"to_status": "IN_PRODUCTION", "checklist": ["0"], "note": "Sensor fault; replaced."},
        headers=JSON,
    )
    assert r.status_code == 200, r.get_json()
    assert events_of(db_session, batch.id)[-1].title == "Deviation Closed"

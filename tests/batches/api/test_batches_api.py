"""/api/v1/batches: every filter, sort and paging edge, bad input as 422, permissions, the
customer's view, transitions and deviations through HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.batches import service as batches
from tests.batch_factories import actor, batch_in, forge_state, new_batch
from tests.conftest import Api

URL = "/api/v1/batches"
DAY = dt.datetime(2031, 3, 10, 23, 0, tzinfo=dt.UTC)  # 02:00 on 11 March in Riyadh


@pytest.fixture(autouse=True)
def _qc_passed(monkeypatch):
    monkeypatch.setattr(batches.qc_hooks, "qc_session_status", lambda batch: "QC_PASSED")


@pytest.fixture(autouse=True)
def _fresh_identity_per_request(monkeypatch):
    """The db_session fixture keeps one app context open, so test requests share `g`; FAB then
    trusts the previous request's cached JWT user (conftest's IsolatedClient clears Flask-Login's
    cache, not flask_jwt_extended's `_jwt_extended_*`). Clear it so each request proves who it is."""
    original = Api._do

    def _do(self, method, url, **kw):
        from flask import g

        for key in [k for k in vars(g) if k.startswith("_jwt_extended") or k in ("user", "_login_user")]:
            g.pop(key, None)
        return original(self, method, url, **kw)

    monkeypatch.setattr(Api, "_do", _do)


@pytest.fixture
def fleet(app_ctx):
    """Six batches over three days, two products, with distinct states, owners and hospitals."""
    made = {
        "planned": new_batch("FDG", start=DAY, customer_codes=("KFSH",), hot_cell_code="HC-1"),
        "qc": forge_state(new_batch("FDG", start=DAY + dt.timedelta(hours=1)), "QC_PENDING"),
        "review": forge_state(new_batch("NAF", start=DAY + dt.timedelta(days=1)), "QP_REVIEW"),
        "released": forge_state(new_batch("FDG", start=DAY + dt.timedelta(days=1, hours=1)), "DISPATCHED"),
        "hold": forge_state(
            new_batch("NAF", start=DAY + dt.timedelta(days=2), by="admin"), "ON_HOLD", "QC_PENDING"
        ),
        "cancelled": forge_state(new_batch("FDG", start=DAY - dt.timedelta(days=1)), "CANCELLED", "PLANNED"),
    }
    return {k: b.id for k, b in made.items()}


def ids(resp) -> set[int]:
    assert resp.status_code == 200, resp.get_json()
    return {i["id"] for i in resp.get_json()["items"]}


def in_2031(**params):
    return {"date_from": "2031-03-01", "date_to": "2031-03-31", "page_size": 200, **params}


# --- shape and auth ----------------------------------------------------------------------------
def test_list_needs_a_token_and_returns_the_documented_shape(client, api, fleet):
    assert client.get(URL).status_code == 401
    body = api("planner").get(URL, query_string=in_2031()).get_json()
    assert set(body) == {"items", "total", "page", "page_size"} and body["total"] == 6
    item = next(i for i in body["items"] if i["id"] == fleet["planned"])
    for key in (
        "id",
        "batch_no",
        "status",
        "qc_status",
        "qp_disposition",
        "product",
        "planned_start_at",
        "planned_end_at",
        "actual_start_at",
        "actual_end_at",
        "released_at",
        "updated_at",
    ):
        assert key in item
    assert item["product"]["code"] == "FDG" and item["planned_start_at"] == "2031-03-10T23:00:00Z"
    assert api("planner").get(URL + "/", query_string=in_2031()).status_code == 200  # trailing slash too


# --- each filter -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params,expected",
    [
        ({"status": "QC_PENDING"}, {"qc"}),
        ({"status": "QC_PENDING,QP_REVIEW"}, {"qc", "review"}),
        ({"status": ["PLANNED", "ON_HOLD"]}, {"planned", "hold"}),
        ({"product": "naf"}, {"review", "hold"}),
        ({"product": "FDG,NAF", "status": "CANCELLED"}, {"cancelled"}),
        ({"site": "RUH", "status": "PLANNED"}, {"planned"}),
        ({"customer": "KFSH"}, {"planned"}),
        ({"hot_cell": "HC-1"}, {"planned"}),
        ({"qc_status": "PENDING"}, {"qc", "hold"}),
        ({"qc_status": "PASSED"}, {"review", "released"}),
        ({"qp_disposition": "ON_HOLD"}, {"hold"}),
        ({"qp_disposition": "RELEASED,PENDING"}, {"review", "released"}),
        ({"shipment_status": "DISPATCHED"}, {"released"}),
        ({"exceptions_only": "true"}, {"hold", "cancelled"}),
        ({"mine": "true"}, {"planned", "qc", "review", "released", "cancelled"}),
        ({"date_from": "2031-03-13", "date_to": "2031-03-13"}, {"hold"}),  # site-local days, inclusive
        ({"date_from": "2031-03-11T00:00:00+03:00", "date_to": "2031-03-11T03:00:00+03:00"}, {"planned"}),
        ({"date_from": "2031-03-11T02:00:00", "date_to": "2031-03-11T03:30"}, {"planned", "qc"}),
    ],
)
def test_each_filter(api, fleet, params, expected):
    got = ids(api("planner").get(URL, query_string=in_2031(**params)))
    assert got == {fleet[k] for k in expected}


def test_search_by_batch_number(api, fleet):
    planner = api("planner")
    numbers = {i["id"]: i["batch_no"] for i in planner.get(URL, query_string=in_2031()).get_json()["items"]}
    target = numbers[fleet["review"]]
    assert ids(planner.get(URL, query_string=in_2031(q=target.lower()))) == {fleet["review"]}
    assert ids(planner.get(URL, query_string=in_2031(q="%"))) == set()  # wildcards are literal


def test_date_field_production_and_release(api, fleet, app_ctx):
    from app.batches.models import Batch
    from app.core.extensions import db

    b = db.session.get(Batch, fleet["released"])
    b.actual_start_at = dt.datetime(2031, 3, 20, 0, 0, tzinfo=dt.UTC)
    b.released_at = dt.datetime(2031, 3, 25, 0, 0, tzinfo=dt.UTC)
    db.session.commit()
    planner = api("planner")
    assert ids(
        planner.get(
            URL, query_string={"date_field": "production", "date_from": "2031-03-20", "date_to": "2031-03-20"}
        )
    ) == {fleet["released"]}
    assert ids(planner.get(URL, query_string={"date_field": "release", "date_from": "2031-03-25"})) == {
        fleet["released"]
    }


# --- sorting -----------------------------------------------------------------------------------
def test_sort_by_planned_status_and_updated(api, fleet):
    planner = api("planner")

    def order(**p):
        return [i["id"] for i in planner.get(URL, query_string=in_2031(**p)).get_json()["items"]]

    by_planned = order(sort="planned_at", order="asc")
    assert by_planned[0] == fleet["cancelled"] and by_planned[-1] == fleet["hold"]
    assert order(sort="planned_at") == list(reversed(by_planned))  # desc is the default
    by_status = order(sort="status", order="asc")
    assert by_status.index(fleet["planned"]) < by_status.index(fleet["qc"]) < by_status.index(fleet["review"])
    assert by_status.index(fleet["released"]) < by_status.index(fleet["hold"])  # exceptions after the path
    by_updated = order(sort="updated_at", order="desc")
    assert set(by_updated) == set(fleet.values())


# --- paging ------------------------------------------------------------------------------------
def test_pages_and_page_past_the_end(api, fleet):
    planner = api("planner")
    first = planner.get(URL, query_string=in_2031(page_size=4, sort="planned_at", order="asc")).get_json()
    second = planner.get(
        URL, query_string=in_2031(page_size=4, page=2, sort="planned_at", order="asc")
    ).get_json()
    assert (len(first["items"]), len(second["items"]), first["total"], second["page"]) == (4, 2, 6, 2)
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    past = planner.get(URL, query_string=in_2031(page=99)).get_json()
    assert past["items"] == [] and past["total"] == 6 and past["page"] == 99
    assert planner.get(URL, query_string=in_2031(page_size=200)).status_code == 200


@pytest.mark.parametrize(
    "params,field",
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 10000}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"status": "LAUNCHED"}, "status"),
        ({"product": "XYZ"}, "product"),
        ({"site": "NOWHERE"}, "site"),
        ({"customer": "NOBODY"}, "customer"),
        ({"hot_cell": "HC-99"}, "hot_cell"),
        ({"qc_status": "MAYBE"}, "qc_status"),
        ({"qp_disposition": "LATER"}, "qp_disposition"),
        ({"shipment_status": "LOST"}, "shipment_status"),
        ({"date_field": "delivery"}, "date_field"),
        ({"date_from": "11/03/2031"}, "date_from"),
        ({"date_to": "2031-02-30"}, "date_to"),
        ({"date_from": "2031-03-12", "date_to": "2031-03-10"}, "date_to"),
        ({"sort": "batch_no"}, "sort"),
        ({"order": "up"}, "order"),
        ({"mine": "perhaps"}, "mine"),
        ({"exceptions_only": "2"}, "exceptions_only"),
        ({"q": "x" * 65}, "q"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_filters_are_422_with_the_field_named(api, params, field):
    r = api("planner").get(URL, query_string=params)
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == "VALIDATION_ERROR" and body["traceId"]
    assert field in body["details"]["fields"]


# --- the customer's view -----------------------------------------------------------------------
def test_hospital_sees_only_its_batches_and_no_metadata(api, fleet):
    hospital = api("hospital")
    assert ids(hospital.get(URL, query_string=in_2031())) == {fleet["planned"]}
    assert hospital.get(f"{URL}/{fleet['qc']}").status_code == 404
    assert hospital.get(f"{URL}/{fleet['qc']}/events").status_code == 404
    detail = hospital.get(f"{URL}/{fleet['planned']}").get_json()
    assert detail["allowed_actions"] == [] and detail["deviations"] == []
    events = hospital.get(f"{URL}/{fleet['planned']}/events").get_json()["items"]
    assert events and all("metadata" not in e and "trace_id" not in e for e in events)
    internal = api("qp").get(f"{URL}/{fleet['planned']}/events").get_json()["items"]
    assert all("metadata" in e for e in internal)
    assert (
        hospital.post(f"{URL}/{fleet['planned']}/transition", json={"to_status": "SCHEDULED"}).status_code
        == 403
    )
    metrics = hospital.get(f"{URL}/metrics").get_json()
    assert metrics["awaiting_qc"] == 0  # the QC batch is not theirs


# --- detail, events, metrics -------------------------------------------------------------------
def test_detail_and_events_and_404(api, fleet):
    qp = api("qp")
    detail = qp.get(f"{URL}/{fleet['review']}").get_json()
    assert detail["next_step"]["owner_role"] == "QP"
    assert {a["to_status"] for a in detail["allowed_actions"]} == {"RELEASED", "ON_HOLD", "REJECTED"}
    assert [m["key"] for m in detail["milestones"]] == [
        "planned",
        "production",
        "qc",
        "qp_release",
        "dispensing",
        "packing",
        "dispatch",
        "closed",
    ]
    assert detail["dose_units"]["planned"] == 0 and detail["orders_count"] == 0
    events = qp.get(f"{URL}/{fleet['review']}/events").get_json()
    times = [e["occurred_at"] for e in events["items"]]
    assert events["count"] == len(times) and times == sorted(times)
    assert qp.get(f"{URL}/999999").status_code == 404
    assert qp.get(f"{URL}/999999").get_json()["code"] == "NOT_FOUND"


def test_events_csv_export(api, fleet):
    r = api("auditor").get(f"{URL}/{fleet['planned']}/events.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert text.splitlines()[0].startswith("occurred_at_utc,title") and "Batch Planned" in text
    assert api("hospital").get(f"{URL}/{fleet['planned']}/events.csv").status_code == 403


def test_metrics_count_the_cards_with_their_filters(api, fleet):
    m = api("planner").get(f"{URL}/metrics").get_json()
    assert m["awaiting_qc"] >= 1 and m["awaiting_qp_release"] >= 1 and m["on_hold_exceptions"] >= 1
    assert m["filters"]["awaiting_qc"] == {"status": ["QC_PENDING", "QC_IN_PROGRESS"]}
    assert m["utilization"]["reserved_min"] is None and m["utilization"]["reason"]


# --- creating and moving -----------------------------------------------------------------------
def test_create_returns_201_with_the_batch(api, app_ctx):
    from tests.batch_factories import ensure_master_data

    ensure_master_data()
    r = api("planner").post(
        URL,
        json={
            "product_code": "FDG",
            "planned_start_at": "2031-05-02T02:30:00",
            "planned_end_at": "2031-05-02T03:15:00",
            "hot_cell_code": "HC-1",
            "planned_activity_mbq": 185000,
            "customer_codes": ["KFSH"],
        },
    )
    body = r.get_json()
    assert r.status_code == 201, body
    assert body["batch_no"] == "FDG-20310502-01" and body["status"] == "PLANNED"
    assert body["planned_start_at"] == "2031-05-01T23:30:00Z"  # a time without zone is site-local
    assert body["planned_activity_mbq"] == 185000.0


@pytest.mark.parametrize(
    "payload,field",
    [
        ({}, "product_code"),
        ({"product_code": "FDG", "planned_start_at": "tomorrow", "planned_end_at": "x"}, "planned_start_at"),
        ({"product_code": "FDG", "planned_start_at": "2031-05-02T02:30:00"}, "planned_end_at"),
        (
            {
                "product_code": "FDG",
                "planned_start_at": "2031-05-02T02:30",
                "planned_end_at": "2031-05-02T03:30",
                "customer_codes": "KFSH",
            },
            "customer_codes",
        ),
    ],
)
def test_create_refuses_bad_bodies_with_422(api, app_ctx, payload, field):
    r = api("planner").post(URL, json=payload)
    assert r.status_code == 422 and field in r.get_json()["details"]["fields"]


def test_create_and_transition_need_the_right_permission(api, client, fleet):
    assert api("qp").post(URL, json={"product_code": "FDG"}).status_code == 403  # QP does not plan
    assert (
        api("auditor")
        .post(f"{URL}/{fleet['planned']}/transition", json={"to_status": "SCHEDULED"})
        .status_code
        == 403
    )
    assert (
        client.post(f"{URL}/{fleet['planned']}/transition", json={"to_status": "SCHEDULED"}).status_code
        == 401
    )


def test_transition_through_the_api_with_each_refusal_code(api, fleet):
    planned = f"{URL}/{fleet['planned']}/transition"
    r = api("disp").post(planned, json={"to_status": "DISPENSING_IN_PROGRESS"})
    assert (r.status_code, r.get_json()["code"], r.get_json()["userMessage"]) == (
        409,
        "DISPENSING_BEFORE_RELEASE",
        "You can't start dispensing before QP releases the batch.",
    )
    r = api("prod").post(planned, json={"to_status": "SCHEDULED"})
    assert (r.status_code, r.get_json()["code"]) == (403, "FORBIDDEN")
    r = api("planner").post(planned, json={"to_status": "CANCELLED"})
    assert (r.status_code, r.get_json()["code"]) == (422, "NOTE_REQUIRED")
    r = api("planner").post(planned, json={"to_status": "CLOSED"})
    assert (r.status_code, r.get_json()["code"]) == (409, "TRANSITION_NOT_ALLOWED")
    assert "Planned" in r.get_json()["userMessage"] and "Closed" in r.get_json()["userMessage"]
    r = api("planner").post(planned, json={"to_status": "SCHEDULED", "version": 0})
    assert (r.status_code, r.get_json()["code"]) == (409, "CONFLICT")
    r = api("planner").post(
        planned, json={"to_status": "SCHEDULED", "note": "Target ready", "metadata": {"slot": 1}}
    )
    assert r.status_code == 200 and r.get_json()["status"] == "SCHEDULED"
    r = api("logi").post(f"{URL}/{fleet['hold']}/transition", json={"to_status": "DISPATCHED"})
    assert (r.status_code, r.get_json()["code"]) == (409, "BATCH_BLOCKED")
    r = api("qp").post(f"{URL}/{fleet['review']}/transition", json={"to_status": "RELEASED"})
    assert (r.status_code, r.get_json()["code"]) == (409, "SIGNATURE_REQUIRED")


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"to_status": 5},
        {"to_status": "SCHEDULED", "metadata": "x"},
        {"to_status": "SCHEDULED", "version": "1"},
        {"to_status": "SCHEDULED", "override": "yes"},
        {"to_status": "SCHEDULED", "note": 7},
        {"to_status": "NOT_A_STATE"},
    ],
)
def test_malformed_transition_requests_are_422(api, fleet, payload):
    r = api("planner").post(f"{URL}/{fleet['planned']}/transition", json=payload)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["code"] == "VALIDATION_ERROR"


def test_deviation_endpoints(api, app_ctx):
    batch = batch_in("QC_IN_PROGRESS")
    r = api("qc").post(
        f"{URL}/{batch.id}/deviations", json={"reason": "Dose calibrator daily check out of tolerance"}
    )
    assert r.status_code == 201, r.get_json()
    dev = r.get_json()["deviation"]
    assert dev["status"] == "OPEN" and r.get_json()["batch"]["status"] == "DEVIATION_OPEN"
    assert api("qc").post(f"{URL}/{batch.id}/deviations", json={"reason": "another"}).status_code == 409
    r = api("qcmanager").post(f"{URL}/{batch.id}/deviations/{dev['id']}/close", json={})
    assert (r.status_code, r.get_json()["code"]) == (422, "NOTE_REQUIRED")
    r = api("qcmanager").post(
        f"{URL}/{batch.id}/deviations/{dev['id']}/close",
        json={"note": "Calibrator re-checked with Cs-137 source; within 2%"},
    )
    assert r.status_code == 200 and r.get_json()["batch"]["status"] == "QC_IN_PROGRESS"
    assert (
        api("qcmanager").post(f"{URL}/{batch.id}/deviations/999/close", json={"note": "x"}).status_code == 404
    )
    assert api("qc").post(f"{URL}/{batch.id}/deviations", json={"reason": ""}).status_code == 422


def test_admin_override_through_the_api(api, app_ctx):
    batch = batch_in("SCHEDULED")
    url = f"{URL}/{batch.id}/transition"
    r = api("admin").post(url, json={"to_status": "IN_PRODUCTION", "note": "Operator ill", "override": True})
    assert r.status_code == 403  # ALLOW_ADMIN_OVERRIDE is off by default
    app_ctx.config["ALLOW_ADMIN_OVERRIDE"] = True
    try:
        r = api("admin").post(
            url, json={"to_status": "IN_PRODUCTION", "note": "Operator ill", "override": True}
        )
        assert r.status_code == 200
        last = api("admin").get(f"{URL}/{batch.id}/events").get_json()["items"][-1]
        assert last["is_override"] and last["actor"]["role"] == "Admin"
    finally:
        app_ctx.config["ALLOW_ADMIN_OVERRIDE"] = False


def test_actor_helper_matches_the_api_user(app_ctx):
    assert actor("QP").printed_name == "Dr. Sara Mansour"


def test_the_timeline_written_by_the_database_equals_the_one_built_in_python(api, app_ctx):
    """The API's internal timeline comes from one SQL statement that writes the JSON; it must say
    exactly what `batch_events` + the API encoder say: labels, actor, times (with and without a
    fraction of a second), notes in Arabic, metadata, overrides, signatures, trace ids."""
    import json

    from sqlalchemy import text

    from app.batches import queries
    from app.core.extensions import db
    from app.core.jsonout import dumps

    batch = forge_state(new_batch("FDG", start=DAY), "QP_REVIEW")
    batches.record_event(
        batch,
        "NOTE",
        "Note",
        actor("prod"),
        note='ملاحظة "quoted" ✓',
        metadata={"b": [1, 2.5], "a": {"x": None}},
    )
    db.session.flush()
    # One event on a whole second, one with microseconds (append-only table: its guard is switched
    # off inside this test's transaction, which is rolled back).
    db.session.execute(text("ALTER TABLE batch_event DISABLE TRIGGER USER"))
    db.session.execute(
        text(
            "UPDATE batch_event SET occurred_at = '2026-03-29 01:30:00+00' WHERE id = (SELECT min(id) FROM batch_event WHERE batch_id = :b)"
        ),
        {"b": batch.id},
    )
    db.session.execute(
        text(
            "UPDATE batch_event SET occurred_at = '2026-03-29 01:30:00.000123+00', is_override = true WHERE id = (SELECT max(id) FROM batch_event WHERE batch_id = :b)"
        ),
        {"b": batch.id},
    )
    db.session.execute(text("ALTER TABLE batch_event ENABLE TRIGGER USER"))
    db.session.commit()
    qp = actor("qp")
    from_python = json.loads(
        dumps({"items": (items := queries.batch_events(batch.id, qp)), "count": len(items)})
    )
    from_sql = json.loads(queries.batch_events_json(batch.id))
    assert from_sql == from_python and from_sql["count"] >= 3
    assert {e["occurred_at"] for e in from_sql["items"]} >= {
        "2026-03-29T01:30:00Z",
        "2026-03-29T01:30:00.000123Z",
    }
    answer = api("qp").get(f"{URL}/{batch.id}/events")
    assert answer.status_code == 200 and answer.get_json() == from_python
    # A batch without events: an empty timeline; a batch that does not exist: 404 in our error shape.
    db.session.execute(text("ALTER TABLE batch_event DISABLE TRIGGER USER"))
    db.session.execute(text("DELETE FROM batch_event WHERE batch_id = :b"), {"b": batch.id})
    db.session.execute(text("ALTER TABLE batch_event ENABLE TRIGGER USER"))
    assert json.loads(queries.batch_events_json(batch.id)) == {"items": [], "count": 0}
    missing = api("qp").get(f"{URL}/999999999/events")
    assert missing.status_code == 404 and missing.get_json()["code"] == "NOT_FOUND"


def test_two_hospitals_in_turn_each_see_only_their_own_batch(api, app_ctx):
    """The list, detail and timeline statements are compiled once and reused: the hospital is a
    parameter of each run, never the first caller's value kept in the statement."""
    from flask import current_app

    from app.batches import service as batches_service
    from app.core.extensions import db
    from app.masterdata.models import Customer, CustomerUser
    from tests.conftest import DEMO_PASSWORD

    sm = current_app.appbuilder.sm
    own = db.session.execute(
        select(CustomerUser.customer_id).where(CustomerUser.user_id == sm.find_user(username="hospital").id)
    ).scalar_one()
    other = (
        db.session.execute(select(Customer).where(Customer.id != own).order_by(Customer.id)).scalars().first()
    )
    second = sm.add_user(
        "hospital2", "Omar", "Haddad", "hospital2@example.org", [sm.find_role("Customer")], DEMO_PASSWORD
    )
    db.session.add(CustomerUser(user_id=second.id, customer_id=other.id))
    mine = new_batch("FDG", start=DAY)
    theirs = new_batch("FDG", start=DAY + dt.timedelta(hours=1))
    batches_service.link_customers(mine, [own])
    batches_service.link_customers(theirs, [other.id])
    db.session.commit()
    first, then = api("hospital"), api("hospital2")
    for client, visible, hidden in ((first, mine, theirs), (then, theirs, mine), (first, mine, theirs)):
        assert client.get(f"{URL}/{visible.id}").status_code == 200
        assert client.get(f"{URL}/{hidden.id}").status_code == 404
        assert client.get(f"{URL}/{hidden.id}/events").status_code == 404
        listed = {i["id"] for i in client.get(URL, query_string=in_2031()).get_json()["items"]}
        assert visible.id in listed and hidden.id not in listed

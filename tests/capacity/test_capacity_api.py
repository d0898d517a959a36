"""Capacity API: windows, hold, read, cancel; every error {code,userMessage,traceId}; hospital scoping."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core.extensions import db
from tests import capacity_factories as f
from tests.statement_counting import counted, permissions_version_read_once  # noqa: F401  (fixture)


@pytest.fixture
def setup(app_ctx):
    # Real now: the API uses the clock. A window 10 days out is well before its cut-off.
    day = dt.date.today() + dt.timedelta(days=10)
    cal = f.calendar()
    w = f.window(cal, day=day, total=30)
    slotted = f.window(
        cal,
        day=day,
        start=dt.time(10),
        end=dt.time(12),
        total=60,
        slots=((dt.time(10), dt.time(11), 30), (dt.time(11), dt.time(12), 30)),
    )
    f.standard("FDG", 6)
    db.session.commit()
    return {"day": day, "w": w, "slotted": slotted}


def _err(r, status, code=None):
    body = r.get_json()
    assert r.status_code == status, body
    assert set(body) >= {"code", "userMessage", "traceId"}
    if code:
        assert body["code"] == code, body
    return body


def test_windows_list_with_remaining_minutes(api, setup):
    a = api("hospital")
    day = setup["day"].isoformat()
    r = a.get(f"/api/v1/capacity/windows?date_from={day}&date_to={day}&product_code=FDG")
    assert r.status_code == 200
    items = [i for i in r.get_json()["items"] if i["id"] in (setup["w"].id, setup["slotted"].id)]
    assert [(i["start"], i["end"], i["total_minutes"], i["remaining_minutes"]) for i in items] == [
        ("08:00", "10:00", 30, 30),
        ("10:00", "12:00", 60, 60),
    ]
    assert items[0]["minutes_per_dose"] == 6 and items[0]["doses_that_fit"] == 5
    assert [s["remaining_minutes"] for s in items[1]["slots"]] == [30, 30]
    assert items[0]["closed"] is False


def test_windows_errors(api, setup):
    a = api("hospital")
    _err(a.get("/api/v1/capacity/windows?date_from=2026-13-01"), 422, "VALIDATION_ERROR")
    _err(a.get("/api/v1/capacity/windows?date_from=2026-01-01&date_to=2028-01-01"), 422)
    _err(a.get("/api/v1/capacity/windows?date_from=2026-01-05&date_to=2026-01-01"), 422)
    _err(a.get("/api/v1/capacity/windows?product_code=NOPE"), 404, "NOT_FOUND")
    _err(a.get("/api/v1/capacity/windows?product_code=A%00B"), 422)


def test_hold_read_cancel_roundtrip(api, setup):
    a = api("hospital")
    r = a.post(
        "/api/v1/reservations", json={"product_code": "FDG", "window_id": setup["w"].id, "dose_count": 4}
    )
    body = r.get_json()
    assert r.status_code == 201, body
    assert body["status"] == "HELD" and body["reserved_minutes"] == 24 and body["reference"].startswith("R-")
    assert body["expires_at"].endswith("Z")
    got = a.get(f"/api/v1/reservations/{body['id']}")
    assert got.status_code == 200 and got.get_json()["customer_code"] == "KFSH"
    # The next booking sees 6 minutes left and is offered the other window.
    refused = a.post(
        "/api/v1/reservations",
        json={"product_code": "FDG", "window_id": setup["w"].id, "dose_count": 2},
    )
    e = _err(refused, 409, "CAPACITY_EXCEEDED")
    assert e["details"]["remaining_minutes"] == 6
    assert "6 minutes" in e["userMessage"]
    cancel = a.post(f"/api/v1/reservations/{body['id']}/cancel", json={"reason": "plans changed"})
    assert cancel.status_code == 200 and cancel.get_json()["status"] == "CANCELLED"
    _err(
        a.post(f"/api/v1/reservations/{body['id']}/cancel", json={"reason": "again"}),
        409,
        "RESERVATION_NOT_HELD",
    )
    ok = a.post(
        "/api/v1/reservations", json={"product_code": "FDG", "window_id": setup["w"].id, "dose_count": 5}
    )
    assert ok.status_code == 201  # the cancelled minutes came back at once


def test_slot_booking(api, setup):
    a = api("planner")
    slots = setup["slotted"].slots
    body = {"product_code": "FDG", "window_id": setup["slotted"].id, "dose_count": 5, "customer_code": "KAMC"}
    _err(a.post("/api/v1/reservations", json=body), 422)  # a window with slots needs one
    r = a.post("/api/v1/reservations", json=body | {"slot_id": slots[0].id})
    assert r.status_code == 201 and r.get_json()["slot_id"] == slots[0].id
    _err(a.post("/api/v1/reservations", json=body | {"slot_id": setup["w"].id + 999999}), 404)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"product_code": "FDG", "window_id": "1", "dose_count": 1},
        {"product_code": "FDG", "window_id": 1, "dose_count": True},
        {"product_code": 5, "window_id": 1, "dose_count": 1},
        {"product_code": "FD\x00G", "window_id": 1, "dose_count": 1},
        {"product_code": "FDG", "window_id": 1, "dose_count": 10**30},
        {"product_code": "FDG", "window_id": 10**30, "dose_count": 1},
        {"product_code": "FDG", "window_id": 1, "dose_count": 1.5},
        {"product_code": "F" * 5000, "window_id": 1, "dose_count": 1},
    ],
)
def test_hold_rejects_bad_bodies(api, setup, payload):
    _err(api("hospital").post("/api/v1/reservations", json=payload), 422)


def test_hold_errors(api, setup):
    a = api("hospital")
    w = setup["w"].id
    _err(a.post("/api/v1/reservations", data="nope", content_type="application/json"), 400, "BAD_REQUEST")
    _err(
        a.post("/api/v1/reservations", json={"product_code": "FDG", "window_id": 2**40, "dose_count": 1}), 404
    )
    _err(a.post("/api/v1/reservations", json={"product_code": "FDG", "window_id": w, "dose_count": 0}), 422)
    _err(a.post("/api/v1/reservations", json={"product_code": "FDG", "window_id": w, "dose_count": 501}), 422)
    _err(
        a.post("/api/v1/reservations", json={"product_code": "NAF", "window_id": w, "dose_count": 1}),
        409,
        "TIME_STANDARD_MISSING",
    )
    _err(
        a.post(
            "/api/v1/reservations",
            json={"product_code": "FDG", "window_id": w, "dose_count": 1, "customer_code": "KAMC"},
        ),
        404,
    )
    _err(a.get("/api/v1/reservations/99999999999"), 404)
    _err(a.post("/api/v1/reservations/99999999999/cancel", json={"reason": "x"}), 404)
    _err(a.post("/api/v1/reservations/1/cancel", json={}), 422)
    _err(api().post("/api/v1/reservations", json={}), 401)
    _err(
        api("qc").post("/api/v1/reservations", json={"product_code": "FDG", "window_id": w, "dose_count": 1}),
        403,
    )


def test_customer_cannot_see_or_cancel_another_hospitals_reservation(api, setup):
    planner = api("planner")
    r = planner.post(
        "/api/v1/reservations",
        json={"product_code": "FDG", "window_id": setup["w"].id, "dose_count": 1, "customer_code": "KAMC"},
    )
    rid = r.get_json()["id"]
    hospital = api("hospital")  # KFSH
    _err(hospital.get(f"/api/v1/reservations/{rid}"), 404, "NOT_FOUND")
    _err(hospital.post(f"/api/v1/reservations/{rid}/cancel", json={"reason": "not mine"}), 404)
    assert planner.get(f"/api/v1/reservations/{rid}").get_json()["status"] == "HELD"
    assert api("qc").get(f"/api/v1/reservations/{rid}").status_code == 200  # internal read


@pytest.mark.usefixtures("permissions_version_read_once")
def test_reading_a_reservation_is_one_statement(api, setup):
    """GET /api/v1/reservations/<id> loads the reservation with its window, calendar, slot, customer
    and product in one statement (it loaded each lazily: six)."""
    a = api("planner")
    body = {"product_code": "FDG", "window_id": setup["slotted"].id, "dose_count": 2, "customer_code": "KAMC"}
    made = a.post("/api/v1/reservations", json=body | {"slot_id": setup["slotted"].slots[0].id})
    assert made.status_code == 201, made.get_json()
    reservation_id = made.get_json()["id"]
    assert a.get(f"/api/v1/reservations/{reservation_id}").status_code == 200  # warm: user cached
    db.session.expire_all()
    with counted() as seen:
        got = a.get(f"/api/v1/reservations/{reservation_id}")
    assert got.status_code == 200
    answer = got.get_json()
    assert (answer["customer_code"], answer["product_code"], answer["start"], answer["end"]) == (
        "KAMC",
        "FDG",
        "10:00",
        "11:00",
    )
    assert len(seen) == 1, seen  # the signed-in user comes from the permission cache

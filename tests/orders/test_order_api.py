"""Order API: create from a hold, PII refusals, expired holds, validate/reject/cancel, customer isolation."""

from __future__ import annotations

import datetime as dt

import pytest

from app.orders import service
from tests import capacity_factories as cf
from tests import order_factories as of
from tests.batch_factories import actor

pytestmark = pytest.mark.usefixtures("app_ctx")
LATER = dt.datetime(2030, 6, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def window(app_ctx):
    return of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))


def _hold_now(window, doses=2):
    # The API runs at the real clock: a hold made now is live for 15 minutes.
    return of.hold(window, doses, now=dt.datetime.now(dt.UTC))


def test_hospital_creates_order_from_its_hold(api, window):
    r = _hold_now(window, 2)
    res = api("hospital").post(
        "/api/v1/orders",
        json={"reservation_id": r.id, "hospital_order_reference": "KF-API-001", "lines": of.lines(2)},
    )
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["status"] == "SUBMITTED" and body["reservation"]["status"] == "CONFIRMED"
    assert [e["title"] for e in body["timeline"]] == ["Order submitted"]
    assert body["timeline"][0]["actor"] == "You"  # no staff names for the hospital


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("john.smith@example.org", "email"),
        ("Smith 01.02.1970", "date"),
        ("+966 55 123 4567", "phone"),
        ("=HYPERLINK(1)", "formula"),
        ("ab", "length"),
    ],
)
def test_reference_pii_refused_through_api(api, window, ref, reason):
    res = api("hospital").post(
        "/api/v1/orders",
        json={
            "product_code": "FDG",
            "window_id": window.id,
            "hospital_order_reference": ref,
            "lines": of.lines(1),
        },
    )
    assert res.status_code == 422
    body = res.get_json()
    assert body["code"] == "REFERENCE_INVALID" and body["details"]["reason"] == reason
    assert body["userMessage"] and body["traceId"]


@pytest.mark.parametrize(
    "body",
    [
        {"reservation_id": "1", "hospital_order_reference": "KF-1", "lines": []},
        {"reservation_id": 2**63, "hospital_order_reference": "KF-1", "lines": []},
        {"hospital_order_reference": "KF\x00-1", "product_code": "FDG", "window_id": 1, "lines": []},
        {"hospital_order_reference": 12345, "lines": []},
        {"hospital_order_reference": "KF-1", "lines": "many"},
        {
            "hospital_order_reference": "KF-1",
            "lines": [{"requested_activity_mbq": 1e300, "calibration_at": "x"}],
        },
        [],
    ],
)
def test_bad_bodies_are_422(api, body):
    res = api("hospital").post("/api/v1/orders", json=body)
    assert res.status_code == 422, res.get_json()
    assert set(res.get_json()) >= {"code", "userMessage", "traceId"}


def test_expired_hold_refused_with_details(api, window):
    r = of.hold(window, 2, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    res = api("hospital").post(
        "/api/v1/orders",
        json={"reservation_id": r.id, "hospital_order_reference": "KF-EXP-9", "lines": of.lines(2)},
    )
    assert res.status_code == 409
    body = res.get_json()
    assert body["code"] == "RESERVATION_EXPIRED" and body["details"]["minutes_still_free"] is True


def test_planner_validates_then_hospital_sees_it_without_staff_names(api, window):
    order = service.create_order(
        actor("hospital"),
        reservation_id=_hold_now(window, 1).id,
        hospital_order_reference="KF-V-1",
        lines=of.lines(1),
    )
    planner = api("planner")
    res = planner.post(f"/api/v1/orders/{order.id}/validate")
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["committed_dispensing_minutes"] == 6
    staff_view = planner.get(f"/api/v1/orders/{order.id}").get_json()
    assert staff_view["timeline"][-1]["actor"] != "Customer service"
    hospital_view = api("hospital").get(f"/api/v1/orders/{order.id}").get_json()
    assert [e["actor"] for e in hospital_view["timeline"]] == ["You", "Customer service"]
    assert "data" not in hospital_view["timeline"][0]


def test_checklist_refusal_through_api(api, window):
    order = service.create_order(
        actor("hospital"),
        reservation_id=_hold_now(window, 1).id,
        hospital_order_reference="KF-C-1",
        lines=of.lines(1),
    )
    cf.customer("KFSH").credit_hold = True
    res = api("planner").post(f"/api/v1/orders/{order.id}/validate")
    assert (res.status_code, res.get_json()["code"]) == (409, "CREDIT_HOLD")


def test_reject_and_cancel_through_api(api, window):
    a = service.create_order(
        actor("hospital"),
        reservation_id=_hold_now(window, 1).id,
        hospital_order_reference="KF-R-1",
        lines=of.lines(1),
    )
    b = service.create_order(
        actor("hospital"),
        reservation_id=_hold_now(window, 1).id,
        hospital_order_reference="KF-R-2",
        lines=of.lines(1),
    )
    planner = api("planner")
    assert planner.post(f"/api/v1/orders/{a.id}/reject", json={}).status_code == 422
    res = planner.post(f"/api/v1/orders/{a.id}/reject", json={"reason": "Duplicate of KF-R-2"})
    assert res.get_json()["status"] == "REJECTED"
    assert api("hospital").post(f"/api/v1/orders/{a.id}/validate").status_code == 403
    res = api("hospital").post(f"/api/v1/orders/{b.id}/cancel", json={"reason": "Scan moved"})
    assert res.status_code == 200 and res.get_json()["status"] == "CANCELLED"


def test_customer_cannot_see_or_cancel_another_hospitals_order(api, window):
    kamc = cf.customer("KAMC")
    kamc.licence_expiry = of.DAY
    order = service.create_order(
        actor("admin"),
        customer_code="KAMC",
        product_code="FDG",
        window_id=window.id,
        hospital_order_reference="KAMC-1",
        lines=of.lines(1),
    )
    hospital = api("hospital")
    assert hospital.get(f"/api/v1/orders/{order.id}").status_code == 404
    assert hospital.post(f"/api/v1/orders/{order.id}/cancel", json={"reason": "x"}).status_code == 404
    listed = hospital.get("/api/v1/orders").get_json()
    assert order.id not in [o["id"] for o in listed["items"]]
    assert order.id in [
        o["id"] for o in api("planner").get("/api/v1/orders?customer=KAMC").get_json()["items"]
    ]


def test_list_filters_and_search(api, window):
    service.create_order(
        actor("hospital"),
        reservation_id=_hold_now(window, 1).id,
        hospital_order_reference="KF-FIND-ME",
        lines=of.lines(1),
    )
    planner = api("planner")
    found = planner.get("/api/v1/orders?q=find-me&status=SUBMITTED&product=FDG").get_json()
    assert [o["hospital_order_reference"] for o in found["items"]] == ["KF-FIND-ME"]
    assert planner.get("/api/v1/orders?status=NOPE").status_code == 422
    assert planner.get("/api/v1/orders?date_from=2030-13-01").status_code == 422

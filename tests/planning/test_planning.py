"""Planner: day figures against hand-computed values; batch plan arithmetic, links and the batch list."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.batches.models import Batch, BatchOrder, batch_customer
from app.core.domain import DomainError
from app.core.extensions import db
from app.orders import service as orders
from app.orders.models import Order
from app.planning import queries, service
from tests import capacity_factories as cf
from tests import order_factories as of
from tests.batch_factories import actor

pytestmark = pytest.mark.usefixtures("app_ctx")
EOS = dt.datetime(2030, 6, 3, 7, 0, tzinfo=dt.UTC)  # two hours before the doses' calibration


def test_day_figures_match_hand_computed_values():
    w = of.bookable_window(total=60, minutes=6)
    of.hold(w, 2)  # 12 min held
    of.validated_order(w, 3, "KF-D-1")  # 18 min committed through its confirmed reservation
    lone = orders.create_order(
        actor("hospital"),
        product_code="FDG",
        window_id=w.id,
        hospital_order_reference="KF-D-2",
        lines=of.lines(1),
        now=of.NOW,
    )
    orders.validate_order(lone.id, actor("planner"), now=of.NOW)  # 6 min committed, no reservation
    day = queries.planner_day(of.DAY, of.NOW)
    row = next(x for x in day["windows"] if x["window_id"] == w.id)
    assert (row["total_minutes"], row["held_minutes"], row["committed_minutes"], row["free_minutes"]) == (
        60,
        12,
        24,
        24,
    )
    assert (row["reserved_pct"], row["committed_pct"]) == (60.0, 40.0)  # (12 + 24) / 60, 24 / 60
    assert (day["totals"]["reserved_pct"], day["totals"]["committed_pct"]) == (60.0, 40.0)
    # The hold stops counting the moment it expires.
    later = queries.planner_day(of.DAY, of.NOW + dt.timedelta(minutes=16))
    row = next(x for x in later["windows"] if x["window_id"] == w.id)
    assert (row["held_minutes"], row["free_minutes"]) == (0, 36)


def test_batch_plan_arithmetic_links_and_schedules():
    w = of.bookable_window(total=60)
    a = of.validated_order(w, 2, "KF-P-1")
    b = of.validated_order(w, 1, "KF-P-2")
    result = service.create_batch_plan([a.id, b.id], actor("planner"), planned_eos_at=EOS)
    batch = db.session.get(Batch, result["batch_id"])
    half_life = float(cf.product("FDG").nuclide.half_life_s)
    factor = 2 ** (2 * 3600 / half_life)
    expected = round(3 * 370.0 * factor * 1.15, 1)
    assert result["arithmetic"]["total_mbq"] == pytest.approx(expected, abs=0.2)
    assert float(batch.planned_activity_mbq) == pytest.approx(expected, abs=0.2)
    assert result["arithmetic"]["doses"][0]["hours_after_eos"] == 2.0
    assert (batch.status, batch.planned_end_at) == ("PLANNED", EOS)
    links = db.session.execute(select(BatchOrder.order_id).where(BatchOrder.batch_id == batch.id)).scalars()
    assert sorted(links) == sorted([a.id, b.id])
    assert db.session.get(Order, a.id).status == "SCHEDULED"
    kfsh = cf.customer("KFSH").id
    assert db.session.execute(
        select(batch_customer).where(
            batch_customer.c.batch_id == batch.id, batch_customer.c.customer_id == kfsh
        )
    ).first()
    audit = db.session.execute(
        select(AuditLog.action).where(AuditLog.entity_type == "Batch", AuditLog.entity_id == str(batch.id))
    ).scalars()
    assert "PLAN_ORDERS" in list(audit)


def test_adding_to_a_planned_batch_recomputes_its_activity():
    w = of.bookable_window(total=60)
    a = of.validated_order(w, 1, "KF-P-3")
    first = service.create_batch_plan([a.id], actor("planner"), planned_eos_at=EOS)
    b = of.validated_order(w, 1, "KF-P-4")
    second = service.create_batch_plan([b.id], actor("planner"), batch_id=first["batch_id"])
    assert second["batch_id"] == first["batch_id"]
    assert second["arithmetic"]["total_mbq"] == pytest.approx(2 * first["arithmetic"]["total_mbq"], abs=0.2)


def test_only_validated_orders_are_planned():
    w = of.bookable_window(total=60)
    submitted = of.order_from_hold(w, 1, "KF-P-5")
    with pytest.raises(DomainError) as err:
        service.create_batch_plan([submitted.id], actor("planner"), planned_eos_at=EOS)
    assert err.value.code == "ORDER_NOT_VALIDATED"


def test_eos_after_a_calibration_is_refused():
    w = of.bookable_window(total=60)
    a = of.validated_order(w, 1, "KF-P-6")
    with pytest.raises(DomainError) as err:
        service.create_batch_plan([a.id], actor("planner"), planned_eos_at=EOS + dt.timedelta(hours=3))
    assert err.value.code == "CALIBRATION_BEFORE_EOS"


def test_planner_api_day_and_plan(api):
    w = of.bookable_window(total=60)
    a = of.validated_order(w, 1, "KF-P-7")
    planner = api("planner")
    day = planner.get(f"/api/v1/planner/days/{of.DAY.isoformat()}").get_json()
    assert any(x["window_id"] == w.id for x in day["windows"])
    assert planner.get("/api/v1/planner/days/not-a-date").status_code == 422
    assert api("hospital").get(f"/api/v1/planner/days/{of.DAY.isoformat()}").status_code == 403
    res = planner.post(
        "/api/v1/planner/batch-plans", json={"order_ids": [a.id], "planned_eos_at": EOS.isoformat()}
    )
    assert res.status_code == 201, res.get_json()
    assert planner.post("/api/v1/planner/batch-plans", json={"order_ids": ["x"]}).status_code == 422


def test_batch_list_shows_orders_window_and_finds_order_numbers(api):
    w = of.bookable_window(total=60)
    a = of.validated_order(w, 2, "KF-LIST-77")
    result = service.create_batch_plan([a.id], actor("planner"), planned_eos_at=EOS)
    planner = api("planner")
    items = planner.get(f"/api/v1/batches?q={a.order_no}").get_json()["items"]
    assert [i["id"] for i in items] == [result["batch_id"]]
    item = items[0]
    assert item["orders_count"] == 1
    assert item["delivery_window"] == "03 Jun 08:00–10:00 +03"
    by_ref = planner.get("/api/v1/batches?q=kf-list-77").get_json()["items"]
    assert [i["id"] for i in by_ref] == [result["batch_id"]]
    page = planner.get(f"/batches/{result['batch_id']}?tab=orders")
    assert page.status_code in (200, 302)
    detail = planner.get(f"/api/v1/batches/{result['batch_id']}").get_json()
    assert [o["order_no"] for o in detail["orders"]] == [a.order_no]
    # The hospital sees its batch (linked through batch_customer) with its own order.
    assert api("hospital").get(f"/api/v1/batches/{result['batch_id']}").get_json()["orders_count"] == 1


def test_a_failed_batch_plan_leaves_no_batch_number_or_audit_row(monkeypatch):
    """Linking fails after the batch was created (an order cancelled meanwhile): the whole plan
    rolls back in one transaction, nothing is left to cancel by hand."""
    from app.batches.models import BatchNumberCounter
    from app.planning import service as planning

    w = of.bookable_window(total=60)
    a = of.validated_order(w, 1, "KF-P-F1")
    counters_before = [
        (c.product_id, c.day, c.last_seq) for c in db.session.execute(select(BatchNumberCounter)).scalars()
    ]
    batches_before = db.session.execute(select(func.count()).select_from(Batch)).scalar_one()
    audit_before = db.session.execute(select(func.max(AuditLog.id))).scalar_one()

    def cancelled_meanwhile(order_ids, batch, actor_):
        assert db.session.get(Batch, batch.id) is not None  # the batch exists, uncommitted
        raise DomainError("ORDER_NOT_VALIDATED", "KF-P-F1 was cancelled meanwhile.", 409)

    monkeypatch.setattr(planning.orders, "schedule_orders", cancelled_meanwhile)
    with pytest.raises(DomainError) as err:
        service.create_batch_plan([a.id], actor("planner"), planned_eos_at=EOS)
    assert err.value.code == "ORDER_NOT_VALIDATED"
    assert db.session.execute(select(func.count()).select_from(Batch)).scalar_one() == batches_before
    assert db.session.execute(select(func.count()).select_from(BatchOrder)).scalar_one() == 0
    assert [
        (c.product_id, c.day, c.last_seq) for c in db.session.execute(select(BatchNumberCounter)).scalars()
    ] == counters_before
    assert db.session.execute(select(func.max(AuditLog.id))).scalar_one() == audit_before
    assert db.session.get(Order, a.id).status == "VALIDATED"
    # And the same plan succeeds once linking works.
    monkeypatch.undo()
    result = service.create_batch_plan([a.id], actor("planner"), planned_eos_at=EOS)
    assert db.session.get(Order, a.id).status == "SCHEDULED" and result["batch_no"]

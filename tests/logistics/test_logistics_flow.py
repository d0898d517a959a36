"""Logistics and genealogy on PostgreSQL: a journey to Delivered, blocked dispatch, genealogy both
ways (several lots of one material, one lot in many batches, a cancelled shipment), recall, APIs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from app.batches.models import Batch
from app.core.domain import DomainError
from app.core.extensions import db
from app.dispensing import materials
from app.dispensing import service as dispensing
from app.dispensing.domain import activity_to_draw_now
from app.dispensing.models import DoseUnit
from app.genealogy import queries as genealogy
from app.logistics import recall, service
from app.orders.models import Order
from tests.batch_factories import actor, forge_state
from tests.dispensing_factories import batch_in_production, customer, material_lot, order_into, released_batch

pytestmark = pytest.mark.usefixtures("app_ctx")


def _dispensed(batch, activities=(400, 300), cust=None) -> list[DoseUnit]:
    order_into(batch, list(activities), cust=cust)
    doses = dispensing.create_dose_units(batch.id, actor("disp"))
    now = dt.datetime.now(dt.UTC)
    return [
        dispensing.dispense_dose(
            d.id,
            round(activity_to_draw_now(d.activity_at_calibration_mbq, d.calibration_at, now, 6586.2), 1),
            actor("disp"),
            now=now,
        )
        for d in doses
    ]


def test_journey_reaches_delivered_and_batch_follows_its_shipments():
    batch = released_batch()
    doses = _dispensed(batch)
    dispensing.complete_dispensing(batch.id, actor("disp"))
    s = service.create_shipment(customer().id, actor("logi"), courier="MedExpress")
    package = service.pack_package(s.id, [d.id for d in doses], "0.02", "0.004", actor("logi"))
    assert (package.category, str(package.transport_index), package.un_number) == (
        "II-YELLOW",
        "0.4",
        "UN 2915",
    )
    assert db.session.get(Batch, batch.id).status == "PACKED"
    service.dispatch_shipment(s.id, actor("logi"))
    assert db.session.get(Batch, batch.id).status == "DISPATCHED"
    service.deliver_shipment(s.id, actor("hospital"), received_by="Dr. Amal")
    db.session.refresh(s)
    assert s.status == "DELIVERED" and s.received_by == "Dr. Amal"
    order_id = doses[0].order_id
    assert db.session.get(Order, order_id).status == "DELIVERED"
    kinds = (
        db.session.execute(
            text("SELECT kind FROM shipment_custody WHERE shipment_id = :s ORDER BY id"), {"s": s.id}
        )
        .scalars()
        .all()
    )
    assert kinds == ["PACKED", "HANDED_TO_COURIER", "RECEIVED"]


def test_dispatch_refused_while_batch_on_hold_after_packing():
    batch = released_batch()
    doses = _dispensed(batch, (400,))
    s = service.create_shipment(customer().id, actor("logi"))
    service.pack_package(s.id, [d.id for d in doses], "0.002", "0", actor("logi"))
    forge_state(db.session.get(Batch, batch.id), "ON_HOLD", prior="DISPENSING_IN_PROGRESS")
    with pytest.raises(DomainError) as err:
        service.dispatch_shipment(s.id, actor("logi"))
    assert err.value.code == "BATCH_BLOCKED"


def test_hospital_cannot_confirm_another_hospitals_shipment():
    batch = released_batch()
    other = customer("OTHER")
    doses = _dispensed(batch, (400,), cust=other)
    s = service.create_shipment(other.id, actor("logi"))
    service.pack_package(s.id, [d.id for d in doses], "0.002", "0", actor("logi"))
    service.dispatch_shipment(s.id, actor("logi"))
    with pytest.raises(DomainError) as err:
        service.deliver_shipment(s.id, actor("hospital"))
    assert err.value.status == 404


def test_genealogy_both_ways_with_several_lots_one_lot_in_many_batches_and_a_cancelled_shipment():
    shared = material_lot("FDG-KIT")
    b1, b2 = batch_in_production(), batch_in_production()
    second_of_same_material = material_lot("FDG-KIT")
    for b in (b1, b2):
        materials.record_material_lot(b.id, shared.id, 1, actor("prod"))
    materials.record_material_lot(b1.id, second_of_same_material.id, 1, actor("prod"))
    b1 = db.session.get(Batch, b1.id)
    b1.actual_end_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    b1.actual_yield_mbq = 200_000
    db.session.commit()
    forge_state(b1, "RELEASED")
    doses = _dispensed(b1, (400,))
    cancelled = service.create_shipment(customer().id, actor("logi"))
    service.pack_package(cancelled.id, [doses[0].id], "0.002", "0", actor("logi"))
    service.cancel_shipment(cancelled.id, "Courier did not come", actor("logi"))
    final = service.create_shipment(customer().id, actor("logi"))
    service.pack_package(final.id, [doses[0].id], "0.002", "0", actor("logi"))

    forward = genealogy.walk(("LOT", shared.id), "forward")
    reached = {(e.child_type, e.child_id) for e in forward}
    assert {
        ("BATCH", b1.id),
        ("BATCH", b2.id),
        ("DOSE", doses[0].id),
        ("SHIPMENT", cancelled.id),
        ("SHIPMENT", final.id),
    } <= reached
    backward = genealogy.walk(("SHIPMENT", final.id), "backward")
    came_from = {(e.parent_type, e.parent_id) for e in backward}
    assert {
        ("DOSE", doses[0].id),
        ("BATCH", b1.id),
        ("LOT", shared.id),
        ("LOT", second_of_same_material.id),
    } <= came_from
    assert ("BATCH", b2.id) not in came_from


def test_genealogy_walk_survives_a_cycle():
    from app.genealogy.service import record_edge

    record_edge(("LOT", 999001), ("BATCH", 999002), "T", "test")
    record_edge(("BATCH", 999002), ("DOSE", 999003), "T", "test")
    record_edge(("DOSE", 999003), ("LOT", 999001), "T", "test")
    db.session.flush()
    edges = genealogy.walk(("LOT", 999001), "forward")
    assert len(edges) == 3


def test_genealogy_edges_are_immutable():
    from app.genealogy.service import record_edge

    edge = record_edge(("LOT", 1), ("BATCH", 2), "T", "test")
    db.session.flush()
    with pytest.raises(Exception, match="append-only|not allowed|refuse"), db.session.begin_nested():
        db.session.execute(text("DELETE FROM genealogy_edge WHERE id = :i"), {"i": edge.id})


def test_recall_from_a_lot_reaches_doses_shipments_and_order_references():
    lot = material_lot()
    batch = batch_in_production()
    materials.record_material_lot(batch.id, lot.id, 1, actor("prod"))
    batch = db.session.get(Batch, batch.id)
    batch.actual_end_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    batch.actual_yield_mbq = 200_000
    db.session.commit()
    forge_state(batch, "RELEASED")
    doses = _dispensed(batch, (400, 300))
    s = service.create_shipment(customer().id, actor("logi"))
    service.pack_package(s.id, [doses[0].id], "0.002", "0", actor("logi"))
    service.dispatch_shipment(s.id, actor("logi"))
    r = recall.open_recall("LOT", lot.id, "Supplier withdrew the lot", actor("qp"))
    items = {i.dose_unit_id: i for i in r.items}
    assert set(items) == {d.id for d in doses}
    assert items[doses[0].id].shipment_id == s.id and items[doses[0].id].dispatched_at is not None
    assert items[doses[1].id].shipment_id is None
    assert all(db.session.get(DoseUnit, d.id).recalled_at for d in doses)


def test_api_dose_units_and_hospital_isolation(api):
    batch = released_batch()
    other = customer("OTHER2")
    order_into(batch, [400], cust=other)
    r = api("disp").post(f"/api/v1/batches/{batch.id}/dose-units", json={})
    assert r.status_code == 201, r.get_json()
    dose = r.get_json()["dose_units"][0]
    for key in (
        "activity_at_calibration_mbq",
        "calibration_at",
        "measured_activity_mbq",
        "measured_at",
        "volume_ml",
        "status",
        "usable_until",
    ):
        assert key in dose
    assert api("hospital").get(f"/api/v1/dose-units/{dose['id']}").status_code == 404
    refused = api("disp").post(f"/api/v1/dose-units/{dose['id']}/dispense", json={"measured_activity_mbq": 1})
    assert refused.status_code == 422 and set(refused.get_json()) >= {"code", "userMessage", "traceId"}
    qp_batch = forge_state(db.session.get(Batch, batch.id), "ON_HOLD", prior="RELEASED")
    assert (
        api("disp")
        .post(f"/api/v1/dose-units/{dose['id']}/dispense", json={"measured_activity_mbq": 500})
        .get_json()["code"]
        == "BATCH_BLOCKED"
    )
    assert qp_batch.status == "ON_HOLD"
    g = api("qp").get(f"/api/v1/genealogy?start=batch:{batch.id}&direction=both")
    assert g.status_code == 200
    assert api("qp").get("/api/v1/genealogy?start=nope").status_code == 422

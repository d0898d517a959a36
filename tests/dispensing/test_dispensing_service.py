"""Dispensing on PostgreSQL: the release gate, holds inherited by doses, expiry, the draw, the vial."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.batches.models import BatchEvent
from app.core.domain import DomainError
from app.core.extensions import db
from app.dispensing import materials, service
from app.dispensing.domain import activity_to_draw_now
from app.dispensing.models import DoseUnit
from app.genealogy.models import GenealogyEdge
from app.orders.models import Order
from tests.batch_factories import actor, forge_state, new_batch
from tests.dispensing_factories import batch_in_production, material_lot, order_into, released_batch

pytestmark = pytest.mark.usefixtures("app_ctx")
HALF_LIFE_F18 = 6586.2


def _dispense_all(batch_id: int, now=None) -> list[DoseUnit]:
    doses = list(
        db.session.execute(
            select(DoseUnit).where(DoseUnit.batch_id == batch_id).order_by(DoseUnit.id)
        ).scalars()
    )
    out = []
    for d in doses:
        now_ = now or dt.datetime.now(dt.UTC)
        expected = activity_to_draw_now(d.activity_at_calibration_mbq, d.calibration_at, now_, HALF_LIFE_F18)
        out.append(service.dispense_dose(d.id, round(expected, 1), actor("disp"), now=now_))
    return out


def test_dose_units_refused_before_release():
    batch = forge_state(new_batch(), "QP_REVIEW")
    order_into(batch, [400])
    with pytest.raises(DomainError) as err:
        service.create_dose_units(batch.id, actor("disp"))
    assert err.value.code == "DISPENSING_BEFORE_RELEASE"
    assert err.value.user_message == "You can't start dispensing before QP releases the batch."


def test_dose_units_made_from_the_orders_of_a_released_batch():
    batch = released_batch()
    order_into(batch, [400, 300])
    created = service.create_dose_units(batch.id, actor("disp"))
    assert [float(d.activity_at_calibration_mbq) for d in created] == [400.0, 300.0]
    assert all(d.status == "PLANNED" for d in created)
    assert service.create_dose_units(batch.id, actor("disp")) == []  # one live dose per line


def test_dispense_draws_the_activity_worked_back_from_calibration_and_moves_batch_and_order():
    batch = released_batch()
    order = order_into(batch, [400])
    (dose,) = service.create_dose_units(batch.id, actor("disp"))
    now = dt.datetime.now(dt.UTC)
    expected = activity_to_draw_now(400, dose.calibration_at, now, HALF_LIFE_F18)
    assert expected > 400  # calibration is an hour ahead
    done = service.dispense_dose(dose.id, round(expected, 1), actor("disp"), now=now)
    assert done.status == "DISPENSED" and float(done.volume_ml) > 0
    assert done.label_data["batch_number"] == batch.batch_no
    db.session.refresh(batch)
    assert batch.status == "DISPENSING_IN_PROGRESS"
    assert db.session.get(Order, order.id).status == "DISPENSED"
    edge = db.session.execute(
        select(GenealogyEdge).where(GenealogyEdge.child_type == "DOSE", GenealogyEdge.child_id == dose.id)
    ).scalar_one()
    assert (edge.parent_type, edge.parent_id, edge.event) == ("BATCH", batch.id, "DOSE_DRAWN")


def test_reading_outside_tolerance_needs_a_note():
    batch = released_batch()
    order_into(batch, [400])
    (dose,) = service.create_dose_units(batch.id, actor("disp"))
    now = dt.datetime.now(dt.UTC)
    expected = activity_to_draw_now(400, dose.calibration_at, now, HALF_LIFE_F18)
    with pytest.raises(DomainError) as err:
        service.dispense_dose(dose.id, round(expected * 1.2, 1), actor("disp"), now=now)
    assert err.value.code == "READING_OUT_OF_TOLERANCE"
    done = service.dispense_dose(
        dose.id, round(expected * 1.2, 1), actor("disp"), note="Calibrator re-checked", now=now
    )
    assert done.reading_note == "Calibrator re-checked"


def test_vial_never_goes_negative():
    batch = released_batch(yield_mbq=1000)
    order_into(batch, [600, 600])
    service.create_dose_units(batch.id, actor("disp"))
    with pytest.raises(DomainError) as err:
        _dispense_all(batch.id)
    assert err.value.code == "NOT_ENOUGH_ACTIVITY"


def test_hold_after_release_blocks_dispensing_with_the_qps_reason_and_lifting_unblocks():
    batch = released_batch()
    order_into(batch, [400])
    (dose,) = service.create_dose_units(batch.id, actor("disp"))
    forge_state(batch, "ON_HOLD", prior="RELEASED")
    with pytest.raises(DomainError) as err:
        _dispense_all(batch.id)
    assert err.value.code == "BATCH_BLOCKED"
    forge_state(batch, "RELEASED")
    assert _dispense_all(batch.id)[0].status == "DISPENSED"


def test_expired_batch_cannot_be_dispensed():
    batch = released_batch(end=dt.datetime.now(dt.UTC) - dt.timedelta(hours=11))  # FDG shelf life 10 h
    order_into(batch, [400], calibration_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30))
    with pytest.raises(DomainError) as err:
        service.create_dose_units(batch.id, actor("disp"))
    assert err.value.code == "EXPIRED"


def test_mark_dispensed_needs_every_dose_dispensed_or_cancelled_with_reason():
    batch = released_batch()
    order_into(batch, [400, 300])
    first, second = service.create_dose_units(batch.id, actor("disp"))
    now = dt.datetime.now(dt.UTC)
    service.dispense_dose(
        first.id,
        round(activity_to_draw_now(400, first.calibration_at, now, HALF_LIFE_F18), 1),
        actor("disp"),
        now=now,
    )
    with pytest.raises(DomainError) as err:
        service.complete_dispensing(batch.id, actor("disp"))
    assert err.value.code == "DOSES_OUTSTANDING"
    with pytest.raises(DomainError) as err:
        service.cancel_dose(second.id, "", actor("disp"))
    assert err.value.code == "NOTE_REQUIRED"
    service.cancel_dose(second.id, "Patient cancelled", actor("disp"))
    assert service.complete_dispensing(batch.id, actor("disp")).status == "DISPENSED"


def test_material_lot_refused_when_expired_or_not_released():
    batch = batch_in_production()
    with pytest.raises(DomainError) as err:
        materials.record_material_lot(batch.id, material_lot(status="QUARANTINE").id, 1, actor("prod"))
    assert err.value.code == "LOT_NOT_RELEASED" and err.value.status == 409
    with pytest.raises(DomainError) as err:
        materials.record_material_lot(batch.id, material_lot(expiry=dt.date(2020, 1, 1)).id, 1, actor("prod"))
    assert err.value.code == "LOT_EXPIRED"
    row = materials.record_material_lot(batch.id, material_lot().id, 2, actor("prod"))
    assert row.quantity == 2
    titles = [
        e.title
        for e in db.session.execute(select(BatchEvent).where(BatchEvent.batch_id == batch.id)).scalars()
    ]
    assert any(t.startswith("Material Lot Recorded") for t in titles)

"""Order acts on PostgreSQL: create from a hold or on its own, validate, reject, cancel, with audit
rows, timeline events and the minutes they take or give back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.audit.models import AuditLog
from app.capacity import service as capacity
from app.capacity.models import Reservation
from app.core.domain import DomainError
from app.core.extensions import db
from app.orders import service
from app.orders.models import OrderEvent
from tests import capacity_factories as cf
from tests import order_factories as of
from tests.batch_factories import actor

pytestmark = pytest.mark.usefixtures("app_ctx")


def _audit(order_id: int) -> list[str]:
    return list(
        db.session.execute(
            select(AuditLog.action)
            .where(AuditLog.entity_type == "Order", AuditLog.entity_id == str(order_id))
            .order_by(AuditLog.id)
        ).scalars()
    )


def _events(order_id: int) -> list[tuple[str, str | None]]:
    rows = db.session.execute(
        select(OrderEvent.event_type, OrderEvent.to_status)
        .where(OrderEvent.order_id == order_id)
        .order_by(OrderEvent.id)
    ).all()
    return [tuple(r) for r in rows]


def test_order_from_held_reservation_confirms_it_in_the_same_transaction():
    w = of.bookable_window(total=60, minutes=6)
    order = of.order_from_hold(w, doses=3)
    reservation = db.session.get(Reservation, order.reservation_id)
    assert (order.status, order.dose_count, order.minutes_per_dose) == ("SUBMITTED", 3, 6)
    assert reservation.status == "CONFIRMED"
    assert order.order_no.startswith("ORD-20300601-")
    assert [line.line_no for line in order.lines] == [1, 2, 3]
    assert capacity.window_remaining(w.id, of.NOW) == (42, None)
    assert _audit(order.id) == ["CREATE"]
    assert _events(order.id) == [("SUBMITTED", "SUBMITTED")]


def test_order_numbers_count_up_per_day():
    w = of.bookable_window(total=120)
    first = of.order_from_hold(w, 1, "KF-A-001")
    second = of.order_from_hold(w, 1, "KF-A-002")
    assert int(second.order_no[-4:]) == int(first.order_no[-4:]) + 1


def test_expired_reservation_refused_with_minutes_still_free():
    w = of.bookable_window(total=60)
    r = of.hold(w, 2)
    later = r.expires_at + dt.timedelta(seconds=1)
    with pytest.raises(DomainError) as err:
        service.create_order(
            actor("hospital"),
            reservation_id=r.id,
            hospital_order_reference="KF-EXP-1",
            lines=of.lines(2),
            now=later,
        )
    assert err.value.code == "RESERVATION_EXPIRED" and err.value.status == 409
    assert err.value.details["minutes_still_free"] is True
    assert "still free" in err.value.user_message
    assert db.session.get(Reservation, r.id).status == "HELD"  # rolled back, nothing confirmed


def test_standalone_order_needs_free_minutes():
    w = of.bookable_window(total=12, minutes=6)
    of.hold(w, 1)  # 6 of 12 minutes held
    with pytest.raises(DomainError) as err:
        service.create_order(
            actor("hospital"),
            product_code="FDG",
            window_id=w.id,
            hospital_order_reference="KF-NEW-1",
            lines=of.lines(2),
            now=of.NOW,
        )
    assert err.value.code == "CAPACITY_EXCEEDED"
    order = service.create_order(
        actor("hospital"),
        product_code="FDG",
        window_id=w.id,
        hospital_order_reference="KF-NEW-1",
        lines=of.lines(1),
        now=of.NOW,
    )
    assert (order.status, order.reservation_id, order.minutes_per_dose) == ("SUBMITTED", None, 6)


def test_reference_that_looks_like_a_patient_is_refused():
    w = of.bookable_window()
    with pytest.raises(DomainError) as err:
        service.create_order(
            actor("hospital"),
            product_code="FDG",
            window_id=w.id,
            hospital_order_reference="JohnSmith19700102",
            lines=of.lines(1),
            now=of.NOW,
        )
    assert (err.value.code, err.value.status, err.value.details["reason"]) == (
        "REFERENCE_INVALID",
        422,
        "date",
    )


def test_validate_commits_reserved_minutes_with_audit_and_event():
    w = of.bookable_window(total=60)
    order = of.order_from_hold(w, 2)
    done = service.validate_order(order.id, actor("planner"), now=of.NOW)
    assert (done.status, done.committed_dispensing_minutes) == ("VALIDATED", 12)
    assert _audit(order.id) == ["CREATE", "VALIDATE"]
    assert _events(order.id)[-1] == ("VALIDATED", "VALIDATED")
    assert capacity.window_remaining(w.id, of.NOW) == (48, None)


def test_validate_with_more_doses_than_held_rechecks_and_commits_them():
    w = of.bookable_window(total=60, minutes=6)
    r = of.hold(w, 1)
    order = service.create_order(
        actor("hospital"),
        reservation_id=r.id,
        hospital_order_reference="KF-MORE-1",
        lines=of.lines(3),
        now=of.NOW,
    )
    done = service.validate_order(order.id, actor("planner"), now=of.NOW)
    assert done.committed_dispensing_minutes == 18
    assert capacity.window_remaining(w.id, of.NOW) == (42, None)


def test_standalone_order_validation_refused_when_minutes_were_taken_meanwhile():
    w = of.bookable_window(total=12, minutes=6)
    order = service.create_order(
        actor("hospital"),
        product_code="FDG",
        window_id=w.id,
        hospital_order_reference="KF-S-1",
        lines=of.lines(2),
        now=of.NOW,
    )
    of.hold(w, 1)  # the order held nothing: 6 of 12 minutes go to someone else
    with pytest.raises(DomainError) as err:
        service.validate_order(order.id, actor("planner"), now=of.NOW)
    assert err.value.code == "CAPACITY_EXCEEDED"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"licence_expiry": dt.date(2030, 6, 2)}, "LICENCE_EXPIRED"),
        ({"credit_hold": True}, "CREDIT_HOLD"),
        ({"permitted_products": []}, "PRODUCT_NOT_PERMITTED"),
    ],
)
def test_validation_checklist_refusals(change, code):
    w = of.bookable_window()
    order = of.order_from_hold(w, 1)
    kfsh = cf.customer("KFSH")
    for key, value in change.items():
        setattr(kfsh, key, value)
    db.session.flush()
    with pytest.raises(DomainError) as err:
        service.validate_order(order.id, actor("planner"), now=of.NOW)
    assert (err.value.code, err.value.status) == (code, 409)
    db.session.refresh(order)
    assert order.status == "SUBMITTED"


def test_hospital_may_not_validate():
    w = of.bookable_window()
    order = of.order_from_hold(w, 1)
    with pytest.raises(DomainError) as err:
        service.validate_order(order.id, actor("hospital"), now=of.NOW)
    assert err.value.status == 403


def test_reject_needs_reason_and_returns_the_minutes():
    w = of.bookable_window(total=60)
    order = of.order_from_hold(w, 2)
    with pytest.raises(DomainError):
        service.reject_order(order.id, "  ", actor("planner"), now=of.NOW)
    done = service.reject_order(order.id, "Licence paperwork missing", actor("planner"), now=of.NOW)
    assert (done.status, done.closed_reason) == ("REJECTED", "Licence paperwork missing")
    assert db.session.get(Reservation, order.reservation_id).status == "CANCELLED"
    assert capacity.window_remaining(w.id, of.NOW) == (60, None)
    assert _audit(order.id) == ["CREATE", "REJECT"]
    assert _events(order.id)[-1] == ("REJECTED", "REJECTED")


def test_cancel_validated_order_returns_minutes_only_desk_may():
    w = of.bookable_window(total=60)
    order = of.validated_order(w, 2)
    with pytest.raises(DomainError) as err:
        service.cancel_order(order.id, "Patient moved", actor("hospital"), now=of.NOW)
    assert err.value.status == 403
    done = service.cancel_order(order.id, "Patient moved", actor("planner"), now=of.NOW)
    assert (done.status, done.committed_dispensing_minutes) == ("CANCELLED", None)
    assert capacity.window_remaining(w.id, of.NOW) == (60, None)


def test_hospital_cancels_own_submitted_order():
    w = of.bookable_window(total=60)
    order = of.order_from_hold(w, 2)
    done = service.cancel_order(order.id, "Scan postponed", actor("hospital"), now=of.NOW)
    assert done.status == "CANCELLED"
    assert capacity.window_remaining(w.id, of.NOW) == (60, None)

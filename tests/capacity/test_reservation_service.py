"""Reservations on PostgreSQL: hold / confirm / cancel / expire arithmetic, cut-off, closed days."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.audit.models import AuditLog
from app.capacity import service
from app.capacity.models import CalendarClosure, Reservation
from app.core.domain import DomainError
from app.core.extensions import db
from app.core.jobs import pending_jobs
from tests import capacity_factories as f

pytestmark = pytest.mark.usefixtures("app_ctx")


def _hold(w, doses=4, slot=None, now=f.NOW, code="FDG", customer="KFSH"):
    return service.hold_reservation(
        f.customer(customer).id, f.product(code).id, w.id, doses, slot_id=slot, actor=f.PLANNER, now=now
    )


def test_hold_reserves_minutes_and_counts_until_expiry():
    cal = f.calendar()
    w = f.window(cal, total=60)
    f.standard(minutes=6)
    r = _hold(w, doses=4)
    assert (r.status, r.reserved_minutes, r.minutes_per_dose) == ("HELD", 24, 6)
    assert r.expires_at == f.NOW + dt.timedelta(minutes=15)
    assert r.reference.startswith("R-20300601-")
    assert service.window_remaining(w.id, f.NOW) == (36, None)
    # The moment the hold lapses it stops counting, with no job having run.
    assert service.window_remaining(w.id, r.expires_at) == (60, None)
    assert service.window_remaining(w.id, r.expires_at - dt.timedelta(seconds=1)) == (36, None)
    actions = db.session.execute(
        select(AuditLog.action).where(AuditLog.entity_type == "Reservation", AuditLog.entity_id == str(r.id))
    ).scalars()
    assert list(actions) == ["HOLD"]


def test_hold_schedules_expiry_job_after_commit(monkeypatch):
    cal = f.calendar()
    w = f.window(cal)
    f.standard()
    r = _hold(w, doses=1)
    assert r.id  # the job was enqueued at commit (savepoint release in tests) or is pending
    names = [fn.__name__ for _q, fn in pending_jobs()]
    assert "send_notification_emails" in names or names == [] or "expire_reservation_job" in names


def test_capacity_exceeded_names_minutes_left_and_alternatives():
    cal = f.calendar()
    w = f.window(cal, total=30)
    other = f.window(cal, start=dt.time(10, 0), end=dt.time(12, 0), total=60)
    f.window(cal, day=f.DAY + dt.timedelta(days=1), total=10)  # too small
    f.standard(minutes=6)
    _hold(w, doses=3)  # 18 of 30
    with pytest.raises(DomainError) as err:
        _hold(w, doses=3)  # needs 18, 12 left
    e = err.value
    assert e.code == "CAPACITY_EXCEEDED" and e.status == 409
    assert "12 minutes" in e.user_message
    assert e.details["remaining_minutes"] == 12
    assert [a["id"] for a in e.details["alternatives"]] == [other.id]
    assert e.details["alternatives"][0] == {
        "id": other.id,
        "date": "2030-06-03",
        "start": "10:00",
        "end": "12:00",
        "remaining_minutes": 60,
    }


def test_slot_and_window_must_both_fit():
    cal = f.calendar()
    w = f.window(cal, total=50, slots=((dt.time(8), dt.time(9), 30), (dt.time(9), dt.time(10), 30)))
    s1, s2 = w.slots
    f.standard(minutes=5)
    _hold(w, doses=6, slot=s1.id)  # slot 1 full (30)
    with pytest.raises(DomainError) as err:
        _hold(w, doses=1, slot=s1.id)
    assert err.value.details["limited_by"] == "slot"
    _hold(w, doses=4, slot=s2.id)  # window 50: 30 + 20
    with pytest.raises(DomainError) as err:
        _hold(w, doses=1, slot=s2.id)  # slot 2 has 10, window has 0
    assert err.value.details["limited_by"] == "window"
    with pytest.raises(DomainError) as err:
        _hold(w, doses=1)  # a window with slots needs one
    assert err.value.code == "VALIDATION_ERROR"


def test_confirm_cancel_and_expire_arithmetic():
    cal = f.calendar()
    w = f.window(cal, total=60)
    f.standard(minutes=5)
    a, b, c = _hold(w, 2), _hold(w, 3), _hold(w, 4)  # 10 + 15 + 20
    assert service.window_remaining(w.id, f.NOW)[0] == 15
    service.confirm_reservation(a, f.NOW + dt.timedelta(minutes=1))
    db.session.commit()
    assert a.status == "CONFIRMED"
    service.cancel_reservation(b.id, "hospital changed plans", f.PLANNER, now=f.NOW)
    assert service.window_remaining(w.id, f.NOW)[0] == 30  # b's minutes returned at once
    later = f.NOW + dt.timedelta(minutes=20)
    assert service.window_remaining(w.id, later)[0] == 50  # c lapsed; a stays confirmed
    assert service.expire_reservation(c.id, now=later) is True
    assert service.expire_reservation(c.id, now=later) is False  # idempotent
    assert c.status == "EXPIRED"
    assert service.window_remaining(w.id, later)[0] == 50


def test_confirm_refuses_an_expired_hold_and_says_if_minutes_are_free():
    cal = f.calendar()
    w = f.window(cal, total=30)
    f.standard(minutes=5)
    r = _hold(w, 4)
    later = f.NOW + dt.timedelta(minutes=16)
    with pytest.raises(DomainError) as err:
        service.confirm_reservation(r, later)
    e = err.value
    assert e.code == "RESERVATION_EXPIRED" and e.status == 409
    assert "(Asia/Riyadh)" in e.user_message and "expired at 11:15 on 2030-06-01" in e.user_message
    assert e.details["minutes_still_free"] is True
    db.session.rollback()
    # Someone else takes the minutes: no longer free.
    _hold(w, 6, now=later)
    with pytest.raises(DomainError) as err:
        service.confirm_reservation(db.session.get(Reservation, r.id), later)
    assert err.value.details["minutes_still_free"] is False
    db.session.rollback()


def test_sweep_expires_every_lapsed_hold():
    cal = f.calendar()
    w = f.window(cal, total=60)
    f.standard(minutes=5)
    holds = [_hold(w, 1) for _ in range(3)]
    assert service.expire_overdue(now=f.NOW + dt.timedelta(minutes=14)) == 0
    assert service.expire_overdue(now=f.NOW + dt.timedelta(minutes=15)) == 3
    assert {h.status for h in holds} == {"EXPIRED"}


def test_cutoff_closed_and_started_windows_refuse():
    cal = f.calendar(cutoff_days=1, cutoff_time=dt.time(14, 0))
    w = f.window(cal)
    f.standard()
    cutoff = dt.datetime(2030, 6, 2, 11, 0, tzinfo=dt.UTC)  # 14:00 Riyadh the day before
    _hold(w, 1, now=cutoff - dt.timedelta(seconds=1))
    with pytest.raises(DomainError) as err:
        _hold(w, 1, now=cutoff)
    assert err.value.code == "WINDOW_CLOSED" and err.value.details["reason"] == "cutoff"
    assert "14:00 on 2030-06-02 (Asia/Riyadh)" in err.value.user_message
    closed = f.window(cal, start=dt.time(10), end=dt.time(12), closed=True)
    with pytest.raises(DomainError) as err:
        _hold(closed, 1)
    assert err.value.details["reason"] == "closed"
    holiday = f.window(cal, day=f.DAY + dt.timedelta(days=2))
    db.session.add(CalendarClosure(calendar_id=cal.id, local_date=holiday.local_date, reason="Maintenance"))
    db.session.flush()
    with pytest.raises(DomainError) as err:
        _hold(holiday, 1)
    assert err.value.code == "WINDOW_CLOSED"


def test_cutoff_across_dst_change_in_berlin():
    # Clocks go forward on Sunday 2030-03-31 in Berlin; the cut-off stays 14:00 local the day before.
    cal = f.calendar(tz="Europe/Berlin")
    w = f.window(cal, day=dt.date(2030, 4, 1))  # Monday, CEST (UTC+2)
    f.standard()
    cutoff = dt.datetime(2030, 3, 31, 12, 0, tzinfo=dt.UTC)  # 14:00 CEST on the Sunday
    _hold(w, 1, now=cutoff - dt.timedelta(minutes=1))
    with pytest.raises(DomainError) as err:
        _hold(w, 1, now=cutoff)
    assert "14:00 on 2030-03-31 (Europe/Berlin)" in err.value.user_message


def test_time_standard_missing_refuses():
    cal = f.calendar()
    w = f.window(cal)
    f.standard("FDG", 6, effective_to=f.DAY - dt.timedelta(days=1))  # ended before the window
    with pytest.raises(DomainError) as err:
        _hold(w, 1)
    assert err.value.code == "TIME_STANDARD_MISSING"


def test_minutes_frozen_from_the_standard_in_force_on_the_window_date():
    cal = f.calendar()
    w = f.window(cal)
    f.standard("FDG", 6, effective_to=f.DAY - dt.timedelta(days=1))
    f.standard("FDG", 4, effective_from=f.DAY)
    assert _hold(w, 3).reserved_minutes == 12


def test_hospital_books_only_for_itself():
    from app.core.actor import Actor

    cal = f.calendar()
    w = f.window(cal)
    f.standard()
    hospital = Actor(
        user_id=None, username="h", printed_name="H", roles=("Customer",), customer_id=f.customer().id
    )
    r = service.hold_reservation(None, f.product().id, w.id, 1, actor=hospital, now=f.NOW)
    assert r.customer_id == f.customer().id
    with pytest.raises(DomainError) as err:
        service.hold_reservation(f.customer("KAMC").id, f.product().id, w.id, 1, actor=hospital, now=f.NOW)
    assert err.value.status == 404


def test_generate_windows_is_idempotent_and_skips_closed_days():
    from app.capacity.models import CalendarPattern, DeliveryWindow

    cal = f.calendar()
    for weekday in range(6):
        db.session.add(
            CalendarPattern(
                calendar_id=cal.id,
                weekday=weekday,
                start_time=dt.time(6),
                end_time=dt.time(8),
                total_minutes=120,
                slot_length_min=60,
            )
        )
        db.session.add(
            CalendarPattern(
                calendar_id=cal.id,
                weekday=weekday,
                start_time=dt.time(8),
                end_time=dt.time(10),
                total_minutes=90,
            )
        )
    db.session.add(
        CalendarClosure(calendar_id=cal.id, local_date=f.DAY + dt.timedelta(days=1), reason="Holiday")
    )
    db.session.flush()
    first = service.generate_windows(cal.id, f.DAY, 7, actor=f.PLANNER)  # Mon..Sun, Tue closed, Sun none
    assert first["created"] == 10 and first["slots_created"] == 10
    assert first["closed_dates"] == ["2030-06-04"]
    again = service.generate_windows(cal.id, f.DAY, 7, actor=f.PLANNER)
    assert again["created"] == 0 and again["already_there"] == 10
    n = db.session.execute(select(DeliveryWindow).where(DeliveryWindow.calendar_id == cal.id)).scalars().all()
    assert len(n) == 10

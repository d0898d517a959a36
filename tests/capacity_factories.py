"""Factories for capacity tests: a calendar, windows (with slots), time standards, actors."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from app.capacity import domain as rules
from app.capacity.models import DeliverySlot, DeliveryWindow, ResourceCalendar, TimeStandard
from app.core.actor import Actor
from app.core.extensions import db
from app.masterdata.models import Customer, Product

TZ = "Asia/Riyadh"
# A Monday far from today, so cut-offs are decided by the injected `now` alone.
DAY = dt.date(2030, 6, 3)
NOW = dt.datetime(2030, 6, 1, 8, 0, tzinfo=dt.UTC)  # Saturday 11:00 Riyadh: before the cut-off
PLANNER = Actor(user_id=None, username="t-planner", printed_name="Test Planner", roles=("Planner",))
_codes = itertools.count(1)


def product(code: str = "FDG") -> Product:
    return db.session.execute(select(Product).where(Product.code == code)).scalar_one()


def customer(code: str = "KFSH") -> Customer:
    return db.session.execute(select(Customer).where(Customer.code == code)).scalar_one()


def calendar(tz: str = TZ, cutoff_days: int = 1, cutoff_time: dt.time = dt.time(14, 0)) -> ResourceCalendar:
    cal = ResourceCalendar(
        code=f"T-CAL-{next(_codes)}",
        name="Test dispensing cell",
        resource_type="DISPENSING_BOTTLENECK",
        timezone=tz,
        cutoff_days_before=cutoff_days,
        cutoff_local_time=cutoff_time,
    )
    db.session.add(cal)
    db.session.flush()
    return cal


def window(
    cal: ResourceCalendar,
    day: dt.date = DAY,
    start: dt.time = dt.time(8, 0),
    end: dt.time = dt.time(10, 0),
    total: int = 60,
    slots: tuple[tuple[dt.time, dt.time, int], ...] = (),
    closed: bool = False,
) -> DeliveryWindow:
    w = DeliveryWindow(
        calendar_id=cal.id,
        local_date=day,
        start_time=start,
        end_time=end,
        start_at=rules.local_to_utc(day, start, cal.timezone),
        end_at=rules.local_to_utc(day, end, cal.timezone),
        total_minutes=total,
        is_closed=closed,
    )
    w.slots = [
        DeliverySlot(
            start_time=s,
            end_time=e,
            start_at=rules.local_to_utc(day, s, cal.timezone),
            end_at=rules.local_to_utc(day, e, cal.timezone),
            total_minutes=m,
        )
        for s, e, m in slots
    ]
    db.session.add(w)
    db.session.flush()
    return w


def standard(
    code: str = "FDG",
    minutes: int = 6,
    effective_from: dt.date = dt.date(2020, 1, 1),
    effective_to: dt.date | None = None,
) -> TimeStandard:
    t = TimeStandard(
        product_id=product(code).id,
        dose_form="UNIT_DOSE",
        minutes_required=minutes,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    db.session.add(t)
    db.session.flush()
    return t

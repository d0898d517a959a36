"""Capacity seed: the dispensing cell's calendar, its weekly pattern, seven days of windows and
time standards for three products.

Idempotent: the calendar is found by its code, pattern rows by weekday and start, time standards by
product and dose form; windows are generated through the capacity service (which skips existing
ones). Rows added write CREATE audit rows in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.audit import service as audit
from app.capacity import service as capacity
from app.capacity.models import CalendarPattern, ResourceCalendar, TimeStandard
from app.core.actor import SYSTEM
from app.core.extensions import db
from app.core.web import site_tz
from app.masterdata.models import Product

CALENDAR_CODE = "DISP-1"
# start, end, capacity minutes, slot length (None = no slots)
WINDOWS = (
    (dt.time(6, 0), dt.time(8, 0), 120, 60),
    (dt.time(8, 0), dt.time(10, 0), 120, None),
    (dt.time(10, 0), dt.time(12, 0), 90, None),
    (dt.time(13, 0), dt.time(15, 0), 60, None),
)
OPEN_DAYS = range(0, 6)  # Monday to Saturday; Sunday closed
# product code -> minutes of the dispensing cell per unit dose
STANDARDS = {"FDG": 4, "PSMA11": 6, "NAF": 3}


def seed(days: int = 7) -> dict[str, int]:
    counts = {"capacity_calendars": 0, "capacity_patterns": 0, "time_standards": 0}
    tz = str(site_tz())
    cal = db.session.execute(select(ResourceCalendar).where(ResourceCalendar.code == CALENDAR_CODE)).scalar()
    if cal is None:
        cal = ResourceCalendar(
            code=CALENDAR_CODE,
            name="Dispensing cell 1",
            resource_type="DISPENSING_BOTTLENECK",
            timezone=tz,
            cutoff_days_before=1,
            cutoff_local_time=dt.time(14, 0),
        )
        db.session.add(cal)
        db.session.flush()
        audit.record("ResourceCalendar", cal.id, "CREATE", after=audit.snapshot(cal), actor=SYSTEM)
        counts["capacity_calendars"] += 1
    have = set(
        db.session.execute(
            select(CalendarPattern.weekday, CalendarPattern.start_time).where(
                CalendarPattern.calendar_id == cal.id
            )
        ).all()
    )
    for weekday in OPEN_DAYS:
        for start, end, minutes, slot_len in WINDOWS:
            if (weekday, start) in have:
                continue
            row = CalendarPattern(
                calendar_id=cal.id,
                weekday=weekday,
                start_time=start,
                end_time=end,
                total_minutes=minutes,
                slot_length_min=slot_len,
            )
            db.session.add(row)
            db.session.flush()
            audit.record("CalendarPattern", row.id, "CREATE", after=audit.snapshot(row), actor=SYSTEM)
            counts["capacity_patterns"] += 1
    for code, minutes in STANDARDS.items():
        product = db.session.execute(select(Product).where(Product.code == code)).scalar()
        if product is None:
            continue
        exists = db.session.execute(
            select(TimeStandard.id).where(
                TimeStandard.product_id == product.id, TimeStandard.dose_form == "UNIT_DOSE"
            )
        ).first()
        if exists:
            continue
        t = TimeStandard(
            product_id=product.id,
            dose_form="UNIT_DOSE",
            minutes_required=minutes,
            effective_from=dt.date(2020, 1, 1),
        )
        db.session.add(t)
        db.session.flush()
        audit.record("TimeStandard", t.id, "CREATE", after=audit.snapshot(t), actor=SYSTEM)
        counts["time_standards"] += 1
    db.session.commit()
    today = dt.datetime.now(site_tz()).date()
    result = capacity.generate_windows(cal.id, today, days, actor=SYSTEM)
    counts["delivery_windows"] = result["created"]
    return counts

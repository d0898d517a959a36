"""Factories for order and planning tests: a bookable window with a time standard, holds, orders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.capacity import service as capacity
from app.core.extensions import db
from app.orders import service
from tests import capacity_factories as cf
from tests.batch_factories import actor

NOW = cf.NOW  # 2030-06-01 08:00 UTC, before the cut-off of DAY's windows
DAY = cf.DAY  # 2030-06-03, Monday
CAL_AT = dt.datetime(2030, 6, 3, 9, 0, tzinfo=dt.UTC)  # 12:00 Riyadh on DAY


def bookable_window(total: int = 60, minutes: int = 6, code: str = "FDG", start=dt.time(8, 0)):
    """A window on DAY with `total` minutes and a time standard of `minutes` per dose; KFSH licensed
    through DAY (the seed's licence is relative to today)."""
    cal = cf.calendar()
    w = cf.window(
        cal, total=total, start=start, end=(dt.datetime.combine(DAY, start) + dt.timedelta(hours=2)).time()
    )
    if not db.session.query(cf.TimeStandard).filter_by(product_id=cf.product(code).id).first():
        cf.standard(code, minutes=minutes)
    kfsh = cf.customer("KFSH")
    kfsh.licence_expiry = DAY + dt.timedelta(days=30)
    db.session.commit()
    return w


def lines(n: int = 2, mbq: float = 370.0, at: dt.datetime = CAL_AT) -> list[dict[str, Any]]:
    return [{"requested_activity_mbq": mbq, "calibration_at": at.isoformat()} for _ in range(n)]


def hold(window, doses: int = 2, by: str = "hospital", now: dt.datetime = NOW, code: str = "FDG"):
    who = actor(by)
    return capacity.hold_reservation(
        cf.customer("KFSH").id, cf.product(code).id, window.id, doses, actor=who, now=now
    )


def order_from_hold(window, doses: int = 2, ref: str = "KF-2030-0001", by: str = "hospital", now=NOW):
    r = hold(window, doses, now=now)
    return service.create_order(
        actor(by), reservation_id=r.id, hospital_order_reference=ref, lines=lines(doses), now=now
    )


def validated_order(window, doses: int = 2, ref: str = "KF-2030-0002", now=NOW):
    order = order_from_hold(window, doses, ref, now=now)
    return service.validate_order(order.id, actor("planner"), now=now)

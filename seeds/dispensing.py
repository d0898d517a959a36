"""Dispensing and logistics demo: one order journey that reaches Delivered, and a batch the QP held
after release whose dispensed doses are blocked.

Told through the real services, each step at its own site-local time on the last open delivery day
before today (day D):

- D-2 10:00 the KFSH user holds 2 doses of FDG in the 08:00 window of day D and orders them
  (reference KFSH-PET-DEMO-01); the planner validates at 11:30 and plans a batch at 15:00;
- D 04:00 production starts, records three material lots (precursor, [18O]water, cassette),
  ends at 04:45 with 180 GBq; QC passes; the QP reviews and releases with her e-signature at 05:35;
- D 05:45 `disp` plans and dispenses the two doses (calibrator readings), marks the batch dispensed;
- D 06:05 `logi` packs one Type A package (TI 0.4), dispatches at 06:15 with MedExpress;
  the KFSH user confirms delivery at 07:05: the order reaches Delivered;
- the KAMC order (KAMC-PET-DEMO-02, 3 doses, 10:00 window) goes into a second batch, released at
  06:40; two doses are dispensed, then at 07:00 the QP puts the batch on hold (sterility filter
  integrity printout missing): its doses are blocked for packing and dispatch.

Times: batch events, material records, dose units, genealogy edges, shipments, packages and the
chain of custody carry the story's time (`now=` and `batches.recorded_at`); order events,
audit rows and e-signatures keep the real time the seed ran (their services take no story time).
Idempotent: nothing is done once the order KFSH-PET-DEMO-01 exists. Skipped (with a count of 0)
when the capacity calendar or the demo users are missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.batches import service as batches
from app.batches.models import Batch
from app.capacity.models import DeliveryWindow, ResourceCalendar
from app.core.actor import SYSTEM, Actor, actor_from_user
from app.core.extensions import db
from app.core.web import site_tz
from app.masterdata.domain.decay import activity_after, seconds_between
from app.masterdata.models import Customer, Material, MaterialLot, Product
from app.orders.models import Order

DELIVERED_REF = "KFSH-PET-DEMO-01"
HELD_REF = "KAMC-PET-DEMO-02"
HOLD_REASON = (
    "Sterility filter integrity (bubble point) printout missing from the batch record; "
    "doses must not leave until Production attaches it."
)
LOTS = (("MANTRI", "ABX-MT-2611-07", "25"), ("O18W", "RT-18O-26-115", "2.5"), ("FL-FDG", "GE-FL2-5541", "1"))


def _people() -> dict[str, Actor] | None:
    sm = current_app.appbuilder.sm
    found = {u: sm.find_user(username=u) for u in ("hospital", "planner", "prod", "qp", "disp", "logi")}
    if any(user is None for user in found.values()):
        return None
    return {u: actor_from_user(user) for u, user in found.items()}


class _Clock:
    def __init__(self, day: dt.date):
        self.tz, self.day = site_tz(), day

    def at(self, offset_days: int, hhmm: str) -> dt.datetime:
        h, m = (int(x) for x in hhmm.split(":"))
        local = dt.datetime.combine(self.day + dt.timedelta(days=offset_days), dt.time(h, m), self.tz)
        return local.astimezone(dt.UTC)


def _delivery_day(calendar: ResourceCalendar) -> dt.date | None:
    """The last day before today with open 08:00 and 10:00 windows (windows generated if needed)."""
    from app.capacity import service as capacity

    today = dt.datetime.now(site_tz()).date()
    capacity.generate_windows(calendar.id, today - dt.timedelta(days=8), 8, actor=SYSTEM)
    for back in range(1, 9):
        day = today - dt.timedelta(days=back)
        starts = {w.start_time for w in _windows(calendar, day)}
        if {dt.time(8), dt.time(10)} <= starts:
            return day
    return None


def _windows(calendar: ResourceCalendar, day: dt.date) -> list[DeliveryWindow]:
    return list(
        db.session.execute(
            select(DeliveryWindow).where(
                DeliveryWindow.calendar_id == calendar.id,
                DeliveryWindow.local_date == day,
                DeliveryWindow.is_closed.is_(False),
            )
        ).scalars()
    )


def _window(calendar: ResourceCalendar, day: dt.date, start: dt.time) -> DeliveryWindow:
    return next(w for w in _windows(calendar, day) if w.start_time == start)


def _order(p, clock, customer_code, window, ref, calibrations, booker) -> Order:
    """Hold minutes (the hospital's own booking, or the planner for another hospital) and order."""
    from app.capacity import service as capacity
    from app.orders import service as orders

    product = db.session.execute(select(Product).where(Product.code == "FDG")).scalar_one()
    customer = db.session.execute(select(Customer).where(Customer.code == customer_code)).scalar_one()
    booked = clock.at(-2, "10:00")
    lines = [{"requested_activity_mbq": mbq, "calibration_at": at.isoformat()} for mbq, at in calibrations]
    if booker == "hospital":
        held = capacity.hold_reservation(
            customer.id, product.id, window.id, len(lines), actor=p["hospital"], now=booked
        )
        order = orders.create_order(
            p["hospital"],
            hospital_order_reference=ref,
            lines=lines,
            reservation_id=held.id,
            now=booked + dt.timedelta(minutes=2),
        )
    else:
        order = orders.create_order(
            _admin(),
            hospital_order_reference=ref,
            lines=lines,
            customer_code=customer_code,
            window_id=window.id,
            product_code="FDG",
            now=booked + dt.timedelta(minutes=5),
        )
    return orders.validate_order(order.id, p["planner"], now=clock.at(-2, "11:30"))


def _admin() -> Actor:
    return actor_from_user(current_app.appbuilder.sm.find_user(username="admin"))


def _plan(p, clock, orders_: list[Order], eos: dt.datetime) -> Batch:
    from app.planning import service as planning

    with batches.recorded_at(clock.at(-2, "15:00")):
        plan = planning.create_batch_plan([o.id for o in orders_], p["planner"], planned_eos_at=eos)
    batch = db.session.get(Batch, plan["batch_id"])
    _move(batch, clock.at(-2, "15:05"), "SCHEDULED", p["planner"], "Target and FASTlab cassette reserved.")
    return batch


def _move(batch: Batch, at: dt.datetime, to: str, who: Actor, note: str | None = None, **kw: Any) -> None:
    with batches.recorded_at(at, dt.timedelta(seconds=40)):
        batches.transition_batch(batch.id, to, who, note, **kw)


def _produce(p, clock, batch: Batch, start: str, end: str, yield_mbq: int) -> None:
    from app.dispensing import materials

    _move(batch, clock.at(0, start), "IN_PRODUCTION", p["prod"], "FASTlab 2; target 1, 55 µA for 45 min.")
    for i, (code, lot_no, quantity) in enumerate(LOTS):
        lot = db.session.execute(
            select(MaterialLot)
            .join(Material, Material.id == MaterialLot.material_id)
            .where(Material.code == code, MaterialLot.supplier_lot_no == lot_no)
        ).scalar_one()
        at = clock.at(0, start) + dt.timedelta(minutes=2 + i)
        with batches.recorded_at(at):
            materials.record_material_lot(batch.id, lot.id, quantity, p["prod"], now=at)
    _move(
        batch,
        clock.at(0, end),
        "PRODUCTION_COMPLETE",
        p["prod"],
        f"EOS {yield_mbq / 1000:.1f} GBq in 15.0 mL.",
        metadata={"actual_yield_mbq": yield_mbq},
    )


def _release(p, clock, batch: Batch, qc_at: str, review_at: str, release_at: str) -> None:
    from app.release import service as release
    from seeds.qc import run_batch_qc

    with batches.recorded_at(clock.at(0, qc_at), dt.timedelta(minutes=3)):
        run_batch_qc(batch.id)
    _move(batch, clock.at(0, review_at), "QP_REVIEW", p["qp"], "Batch record and QC results under review.")
    at = clock.at(0, release_at)
    with batches.recorded_at(at):
        release.decide_disposition(
            batch.id,
            "RELEASE",
            actor=p["qp"],
            password=current_app.config["DEMO_PASSWORD"],
            comment="Released for human use; batch record complete.",
            now=at,
        )


def _dispense(p, batch: Batch, at: dt.datetime, count: int | None = None) -> list[int]:
    """Plan the batch's doses and draw `count` of them (all when None), one every 4 minutes, each
    with a calibrator reading 1 % above the activity to draw."""
    from app.dispensing import service as dispensing

    with batches.recorded_at(at):
        doses = dispensing.create_dose_units(batch.id, p["disp"], now=at)
    drawn = []
    for i, dose in enumerate(doses[:count] if count is not None else doses):
        when = at + dt.timedelta(minutes=4 * (i + 1))
        half_life = float(batch.product.nuclide.half_life_s)
        wanted = activity_after(
            float(dose.activity_at_calibration_mbq), seconds_between(dose.calibration_at, when), half_life
        )
        with batches.recorded_at(when):
            dispensing.dispense_dose(dose.id, round(wanted * 1.01, 1), p["disp"], now=when)
        drawn.append(dose.id)
    return drawn


def _delivered_journey(p, clock, calendar, day) -> None:
    from app.dispensing import service as dispensing
    from app.logistics import service as logistics

    window = _window(calendar, day, dt.time(8))
    cal = clock.at(0, "08:30")
    order = _order(p, clock, "KFSH", window, DELIVERED_REF, [(370, cal), (280, cal)], "hospital")
    batch = _plan(p, clock, [order], clock.at(0, "04:45"))
    _produce(p, clock, batch, "04:00", "04:45", 180000)
    _release(p, clock, batch, "04:50", "05:25", "05:35")
    doses = _dispense(p, batch, clock.at(0, "05:45"))
    with batches.recorded_at(clock.at(0, "05:58")):
        dispensing.complete_dispensing(batch.id, p["disp"])
    at = clock.at(0, "06:00")
    shipment = logistics.create_shipment(
        order.customer_id, p["logi"], courier="MedExpress", planned_departure_at=clock.at(0, "06:15"), now=at
    )
    at = clock.at(0, "06:05")
    with batches.recorded_at(at):
        logistics.pack_package(shipment.id, doses, "0.02", "0.004", p["logi"], now=at)
    at = clock.at(0, "06:15")
    with batches.recorded_at(at):
        logistics.dispatch_shipment(shipment.id, p["logi"], note="Sealed; courier van RPH-07.", now=at)
    at = clock.at(0, "07:05")
    with batches.recorded_at(at):
        logistics.deliver_shipment(
            shipment.id, p["hospital"], received_by="Nuclear medicine hot lab (KFSH)", now=at
        )


def _held_batch(p, clock, calendar, day) -> None:
    from app.release import service as release

    window = _window(calendar, day, dt.time(10))
    cal = clock.at(0, "10:30")
    order = _order(p, clock, "KAMC", window, HELD_REF, [(370, cal), (370, cal), (300, cal)], "admin")
    batch = _plan(p, clock, [order], clock.at(0, "05:30"))
    _produce(p, clock, batch, "04:50", "05:30", 160000)
    _release(p, clock, batch, "05:35", "06:20", "06:40")
    _dispense(p, batch, clock.at(0, "06:45"), count=2)
    at = clock.at(0, "07:00")
    with batches.recorded_at(at):
        release.decide_disposition(
            batch.id,
            "HOLD",
            actor=p["qp"],
            password=current_app.config["DEMO_PASSWORD"],
            comment=HOLD_REASON,
            now=at,
        )


def seed() -> dict[str, int]:
    if db.session.execute(select(Order.id).where(Order.hospital_order_reference == DELIVERED_REF)).first():
        return {"dispensing_journeys": 0}
    calendar = db.session.execute(select(ResourceCalendar).where(ResourceCalendar.code == "DISP-1")).scalar()
    people = _people()
    if calendar is None or people is None:
        return {"dispensing_journeys": 0}
    day = _delivery_day(calendar)
    if day is None:
        return {"dispensing_journeys": 0}
    clock = _Clock(day)
    _delivered_journey(people, clock, calendar, day)
    _held_batch(people, clock, calendar, day)
    return {"dispensing_journeys": 2}

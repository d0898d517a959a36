"""Factories for dispensing and logistics tests: a released batch with orders planned into it,
material lots, and a delivered journey."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from sqlalchemy import select

from app.batches.models import Batch, BatchOrder
from app.capacity.models import DeliveryWindow, ResourceCalendar
from app.core.extensions import db
from app.masterdata.models import Customer, Material, MaterialLot, Supplier
from app.orders.models import Order, OrderLine
from tests.batch_factories import actor, forge_state, new_batch

_seq = itertools.count(1)


def released_batch(
    *, end: dt.datetime | None = None, yield_mbq: float = 200_000, product: str = "FDG"
) -> Batch:
    """A RELEASED batch whose synthesis ended at `end` (default: 20 minutes ago)."""
    end = end or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    batch = new_batch(product, start=end - dt.timedelta(minutes=45))
    batch.actual_start_at = end - dt.timedelta(minutes=45)
    batch.actual_end_at = end
    batch.actual_yield_mbq = Decimal(str(yield_mbq))
    db.session.commit()
    return forge_state(batch, "RELEASED")


def customer(code: str = "KFSH") -> Customer:
    found = db.session.execute(select(Customer).where(Customer.code == code)).scalar_one_or_none()
    if found is None:
        found = Customer(
            code=code, name=f"Hospital {code}", licence_number=f"L-{code}", licence_expiry=dt.date(2035, 1, 1)
        )
        db.session.add(found)
        db.session.commit()
    return found


def _window() -> DeliveryWindow:
    cal = db.session.execute(
        select(ResourceCalendar).where(ResourceCalendar.code == "T-DISP")
    ).scalar_one_or_none()
    if cal is None:
        cal = ResourceCalendar(code="T-DISP", name="test", timezone="Asia/Riyadh")
        db.session.add(cal)
        db.session.flush()
    n = next(_seq)
    start = dt.datetime(2026, 1, 1, 6, tzinfo=dt.UTC) + dt.timedelta(days=n)
    window = DeliveryWindow(
        calendar_id=cal.id,
        local_date=start.date(),
        start_time=dt.time(9),
        end_time=dt.time(10),
        start_at=start,
        end_at=start + dt.timedelta(hours=1),
        total_minutes=60,
    )
    db.session.add(window)
    db.session.flush()
    return window


def order_into(
    batch: Batch,
    activities: list[float],
    *,
    cust: Customer | None = None,
    calibration_at: dt.datetime | None = None,
    ref: str | None = None,
) -> Order:
    """An order of `customer` with one line per activity, SCHEDULED and planned into `batch`."""
    cust = cust or customer()
    cal = calibration_at or dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    n = next(_seq)
    order = Order(
        order_no=f"ORD-T-{n:05d}",
        customer_id=cust.id,
        product_id=batch.product_id,
        window_id=_window().id,
        hospital_order_reference=ref or f"REF-{n:04d}",
        status="SCHEDULED",
        dose_count=len(activities),
        minutes_per_dose=5,
    )
    db.session.add(order)
    db.session.flush()
    for i, a in enumerate(activities, start=1):
        db.session.add(
            OrderLine(
                order_id=order.id, line_no=i, requested_activity_mbq=Decimal(str(a)), calibration_at=cal
            )
        )
    db.session.add(BatchOrder(batch_id=batch.id, order_id=order.id, linked_by_name="test"))
    db.session.commit()
    return order


def material_lot(
    material_code: str = "FDG-KIT",
    lot_no: str | None = None,
    *,
    status: str = "RELEASED",
    expiry: dt.date = dt.date(2035, 1, 1),
) -> MaterialLot:
    material = db.session.execute(select(Material).where(Material.code == material_code)).scalar_one_or_none()
    if material is None:
        material = Material(code=material_code, name=f"{material_code} material", unit="kit")
        db.session.add(material)
    supplier = db.session.execute(
        select(Supplier).where(Supplier.name == "Test Supplier")
    ).scalar_one_or_none()
    if supplier is None:
        supplier = Supplier(name="Test Supplier")
        db.session.add(supplier)
    db.session.flush()
    lot = MaterialLot(
        material_id=material.id,
        supplier_id=supplier.id,
        supplier_lot_no=lot_no or f"LOT-{next(_seq):05d}",
        expiry_date=expiry,
        status=status,
    )
    db.session.add(lot)
    db.session.commit()
    return lot


def batch_in_production() -> Batch:
    return forge_state(new_batch(), "IN_PRODUCTION")


__all__ = ["actor"]

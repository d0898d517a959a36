"""Capacity tables: calendars with a weekly pattern, delivery windows and slots, time standards and
reservations (holds on a window's minutes).

A window stores its local date and wall-clock times together with the UTC instants they mean in
the calendar's zone (computed once, when the window is generated, by `capacity.domain`). Minutes are
integers. Availability is never stored: it is counted from reservations at the moment it is asked
for (an expired hold stops counting at once, whether or not the expiry job has run).
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import relationship

RESOURCE_TYPES = ("DISPENSING_BOTTLENECK", "HOT_CELL", "QC_LAB")
RESERVATION_STATUSES = ("HELD", "CONFIRMED", "EXPIRED", "CANCELLED")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ResourceCalendar(Model):
    """A bottleneck resource's calendar (the dispensing cell first), in its own time zone."""

    __tablename__ = "resource_calendar"

    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)
    name = Column(String(200), nullable=False)
    resource_type = Column(String(32), nullable=False, server_default="DISPENSING_BOTTLENECK")
    timezone = Column(String(64), nullable=False)
    # Orders close `cutoff_days_before` days before the window's date at `cutoff_local_time` (local).
    cutoff_days_before = Column(SmallInteger, nullable=False, server_default=text("1"))
    cutoff_local_time = Column(Time, nullable=False, server_default=text("'14:00'"))
    is_active = Column(Boolean, nullable=False, server_default=text("true"))

    patterns = relationship("CalendarPattern", back_populates="calendar", order_by="CalendarPattern.weekday")

    __table_args__ = (
        CheckConstraint(_in("resource_type", RESOURCE_TYPES), name="ck_resource_calendar_type"),
        CheckConstraint("cutoff_days_before BETWEEN 0 AND 14", name="ck_resource_calendar_cutoff"),
    )

    def __repr__(self) -> str:
        return self.name


class CalendarPattern(Model):
    """One window of the weekly pattern (weekday 0 = Monday) that generates delivery windows."""

    __tablename__ = "calendar_pattern"

    id = Column(Integer, primary_key=True)
    calendar_id = Column(Integer, ForeignKey("resource_calendar.id", ondelete="CASCADE"), nullable=False)
    weekday = Column(SmallInteger, nullable=False)
    start_time = Column(Time, nullable=False)
    end_time = Column(Time, nullable=False)
    total_minutes = Column(Integer, nullable=False)
    slot_length_min = Column(Integer, nullable=True)
    minutes_per_slot = Column(Integer, nullable=True)

    calendar = relationship("ResourceCalendar", back_populates="patterns")

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_calendar_pattern_weekday"),
        CheckConstraint("end_time > start_time", name="ck_calendar_pattern_times"),
        CheckConstraint("total_minutes >= 0", name="ck_calendar_pattern_total"),
        UniqueConstraint("calendar_id", "weekday", "start_time", name="uq_calendar_pattern"),
    )


class CalendarClosure(Model):
    """A day the calendar is closed (holiday, maintenance): its windows refuse bookings."""

    __tablename__ = "calendar_closure"

    id = Column(Integer, primary_key=True)
    calendar_id = Column(Integer, ForeignKey("resource_calendar.id", ondelete="CASCADE"), nullable=False)
    local_date = Column(Date, nullable=False)
    reason = Column(String(200), nullable=False)

    calendar = relationship("ResourceCalendar")

    __table_args__ = (UniqueConstraint("calendar_id", "local_date", name="uq_calendar_closure"),)


class DeliveryWindow(Model):
    __tablename__ = "delivery_window"

    id = Column(Integer, primary_key=True)
    calendar_id = Column(Integer, ForeignKey("resource_calendar.id"), nullable=False)
    local_date = Column(Date, nullable=False)
    start_time = Column(Time, nullable=False)
    end_time = Column(Time, nullable=False)
    start_at = Column(DateTime(timezone=True), nullable=False)
    end_at = Column(DateTime(timezone=True), nullable=False)
    total_minutes = Column(Integer, nullable=False)
    is_closed = Column(Boolean, nullable=False, server_default=text("false"))

    calendar = relationship("ResourceCalendar")
    slots = relationship("DeliverySlot", back_populates="window", order_by="DeliverySlot.start_at")

    __table_args__ = (
        CheckConstraint("total_minutes >= 0", name="ck_delivery_window_total"),
        CheckConstraint("end_at > start_at", name="ck_delivery_window_instants"),
        UniqueConstraint("calendar_id", "local_date", "start_time", name="uq_delivery_window"),
        Index("ix_delivery_window_start", "start_at"),
    )

    def __repr__(self) -> str:
        return f"{self.local_date} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class DeliverySlot(Model):
    __tablename__ = "delivery_slot"

    id = Column(Integer, primary_key=True)
    window_id = Column(
        Integer, ForeignKey("delivery_window.id", ondelete="CASCADE"), nullable=False, index=True
    )
    start_time = Column(Time, nullable=False)
    end_time = Column(Time, nullable=False)
    start_at = Column(DateTime(timezone=True), nullable=False)
    end_at = Column(DateTime(timezone=True), nullable=False)
    total_minutes = Column(Integer, nullable=False)

    window = relationship("DeliveryWindow", back_populates="slots")

    __table_args__ = (
        CheckConstraint("total_minutes >= 0", name="ck_delivery_slot_total"),
        CheckConstraint("end_at > start_at", name="ck_delivery_slot_instants"),
    )

    def __repr__(self) -> str:
        return f"{self.start_time:%H:%M}–{self.end_time:%H:%M}"


class TimeStandard(Model):
    """Minutes of the dispensing cell one dose of a product takes. No two active standards of one
    product and dose form overlap in time: an exclusion constraint (migration 0011) refuses it."""

    __tablename__ = "time_standard"

    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False, index=True)
    dose_form = Column(String(32), nullable=False, server_default="UNIT_DOSE")
    minutes_required = Column(Integer, nullable=False)
    effective_from = Column(Date, nullable=False)
    effective_to = Column(Date, nullable=True)  # inclusive; open-ended when empty
    is_active = Column(Boolean, nullable=False, server_default=text("true"))

    product = relationship("Product")

    __table_args__ = (
        CheckConstraint("minutes_required > 0 AND minutes_required <= 600", name="ck_time_standard_minutes"),
        CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from", name="ck_time_standard_range"
        ),
    )


class Reservation(Model):
    """Minutes of a window held for a hospital. HELD until `expires_at`, then it no longer counts."""

    __tablename__ = "reservation"

    id = Column(Integer, primary_key=True)
    reference = Column(String(24), unique=True, nullable=False)  # R-20261129-0007, shown to people
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False)
    window_id = Column(Integer, ForeignKey("delivery_window.id"), nullable=False)
    slot_id = Column(Integer, ForeignKey("delivery_slot.id"), nullable=True)
    dose_count = Column(Integer, nullable=False)
    minutes_per_dose = Column(Integer, nullable=False)  # the time standard in force, frozen
    reserved_minutes = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False, server_default="HELD")
    expires_at = Column(DateTime(timezone=True), nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_by_name = Column(String(200), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    confirmed_at = Column(DateTime(timezone=True), nullable=True)
    expired_at = Column(DateTime(timezone=True), nullable=True)
    cancelled_at = Column(DateTime(timezone=True), nullable=True)
    cancel_reason = Column(Text, nullable=True)

    customer = relationship("Customer")
    product = relationship("Product")
    window = relationship("DeliveryWindow")
    slot = relationship("DeliverySlot")

    __table_args__ = (
        CheckConstraint(_in("status", RESERVATION_STATUSES), name="ck_reservation_status"),
        CheckConstraint("dose_count > 0 AND dose_count <= 500", name="ck_reservation_doses"),
        CheckConstraint("reserved_minutes = minutes_per_dose * dose_count", name="ck_reservation_minutes"),
        Index("ix_reservation_window_status", "window_id", "status"),
        Index("ix_reservation_slot_status", "slot_id", "status"),
    )

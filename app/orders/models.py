"""Hospital orders: one line per dose, a status machine (`orders.domain`), and an append-only
timeline of events. `hospital_order_reference` is the only link to a patient, and it must be
pseudonymous (`orders.domain.validate_hospital_order_reference`); no patient field exists.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import relationship

ORDER_STATUSES = (
    "DRAFT",
    "SUBMITTED",
    "VALIDATED",
    "SCHEDULED",
    "IN_PRODUCTION",
    "RELEASED",
    "DISPENSED",
    "SHIPPED",
    "DELIVERED",
    "CANCELLED",
    "REJECTED",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Order(Model):
    __tablename__ = "customer_order"  # "order" is an SQL keyword

    id = Column(Integer, primary_key=True)
    order_no = Column(String(24), unique=True, nullable=False)  # ORD-20261129-0001
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False)
    window_id = Column(Integer, ForeignKey("delivery_window.id"), nullable=False, index=True)
    slot_id = Column(Integer, ForeignKey("delivery_slot.id"), nullable=True)
    reservation_id = Column(Integer, ForeignKey("reservation.id"), nullable=True, unique=True)
    hospital_order_reference = Column(String(40), nullable=False)
    status = Column(String(16), nullable=False, server_default="SUBMITTED")
    dose_count = Column(Integer, nullable=False)
    minutes_per_dose = Column(Integer, nullable=False)
    committed_dispensing_minutes = Column(Integer, nullable=True)  # set when validated
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    submitted_at = Column(DateTime(timezone=True), nullable=True)
    validated_at = Column(DateTime(timezone=True), nullable=True)
    closed_reason = Column(Text, nullable=True)  # rejection or cancellation reason
    version = Column(Integer, nullable=False, server_default=text("1"))

    customer = relationship("Customer")
    product = relationship("Product")
    window = relationship("DeliveryWindow")
    slot = relationship("DeliverySlot")
    reservation = relationship("Reservation")
    lines = relationship("OrderLine", back_populates="order", order_by="OrderLine.line_no")

    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="ck_customer_order_status"),
        CheckConstraint("dose_count > 0 AND dose_count <= 200", name="ck_customer_order_doses"),
        CheckConstraint(
            "committed_dispensing_minutes IS NULL OR committed_dispensing_minutes >= 0",
            name="ck_customer_order_committed",
        ),
        Index("ix_customer_order_status", "status", "window_id"),
        Index("ix_customer_order_reference", text("lower(hospital_order_reference)")),
    )


class OrderLine(Model):
    """One ordered dose: activity wanted at the hospital's calibration time."""

    __tablename__ = "order_line"

    id = Column(Integer, primary_key=True)
    order_id = Column(
        Integer, ForeignKey("customer_order.id", ondelete="CASCADE"), nullable=False, index=True
    )
    line_no = Column(SmallInteger, nullable=False)
    requested_activity_mbq = Column(Numeric(12, 1), nullable=False)
    calibration_at = Column(DateTime(timezone=True), nullable=False)
    line_reference = Column(String(40), nullable=True)

    order = relationship("Order", back_populates="lines")

    __table_args__ = (
        CheckConstraint("requested_activity_mbq > 0", name="ck_order_line_activity"),
        UniqueConstraint("order_id", "line_no", name="uq_order_line_no"),
    )


class OrderEvent(Model):
    """The order's own timeline; append-only (triggers refuse UPDATE, DELETE, TRUNCATE)."""

    __tablename__ = "order_event"

    id = Column(BigInteger, Identity(always=False), primary_key=True)
    order_id = Column(Integer, ForeignKey("customer_order.id"), nullable=False)
    event_type = Column(String(32), nullable=False)
    from_status = Column(String(16), nullable=True)
    to_status = Column(String(16), nullable=True)
    title = Column(String(200), nullable=False)
    note = Column(Text, nullable=True)
    actor_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    actor_name = Column(String(200), nullable=False)
    # Only customer-facing milestones reach the hospital's timeline (no staff names, no notes).
    customer_visible = Column(Boolean, nullable=False, server_default=text("true"))
    occurred_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    data = Column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))

    __table_args__ = (Index("ix_order_event_order", "order_id", "occurred_at"),)

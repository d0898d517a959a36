"""Dose units: one ordered dose drawn from a released batch.

A dose unit belongs to one order line and one batch; its status follows `dispensing.domain.states`
and changes only through `app.dispensing.service`. `label_data` keeps the label's fields as printed
first, so a reprint shows exactly the same text.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import relationship

from app.dispensing.domain.states import DOSE_STATES


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class DoseUnit(Model):
    __tablename__ = "dose_unit"

    id = Column(Integer, primary_key=True)
    order_line_id = Column(Integer, ForeignKey("order_line.id"), nullable=False)
    order_id = Column(Integer, ForeignKey("customer_order.id"), nullable=False)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False)
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False)
    activity_at_calibration_mbq = Column(Numeric(12, 1), nullable=False)  # ordered
    calibration_at = Column(DateTime(timezone=True), nullable=False)
    expected_activity_mbq = Column(Numeric(12, 1), nullable=True)  # what was to be drawn, at measured_at
    measured_activity_mbq = Column(Numeric(12, 1), nullable=True)  # the dose calibrator reading
    measured_at = Column(DateTime(timezone=True), nullable=True)
    reading_deviation = Column(Numeric(8, 5), nullable=True)  # (measured - expected) / expected
    reading_note = Column(Text, nullable=True)  # required outside the tolerance
    volume_ml = Column(Numeric(8, 3), nullable=True)
    status = Column(String(16), nullable=False, server_default="PLANNED")
    cancel_reason = Column(Text, nullable=True)
    label_data = Column(JSONB, nullable=True)
    dispensed_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    dispensed_by_name = Column(String(200), nullable=True)
    recalled_at = Column(DateTime(timezone=True), nullable=True)  # flagged by a recall
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    version = Column(Integer, nullable=False, server_default=text("1"))

    batch = relationship("Batch")
    product = relationship("Product")
    customer = relationship("Customer")
    order = relationship("Order")
    order_line = relationship("OrderLine")

    __table_args__ = (
        CheckConstraint(_in("status", DOSE_STATES), name="ck_dose_unit_status"),
        CheckConstraint("activity_at_calibration_mbq > 0", name="ck_dose_unit_activity"),
        CheckConstraint(
            "status IN ('PLANNED', 'CANCELLED') OR (measured_activity_mbq IS NOT NULL "
            "AND measured_at IS NOT NULL AND volume_ml IS NOT NULL)",
            name="ck_dose_unit_dispensed_fields",
        ),
        CheckConstraint(
            "status <> 'CANCELLED' OR cancel_reason IS NOT NULL", name="ck_dose_unit_cancel_reason"
        ),
        CheckConstraint("volume_ml IS NULL OR volume_ml > 0", name="ck_dose_unit_volume"),
        # One live dose per order line; a cancelled one may be replaced.
        Index(
            "uq_dose_unit_order_line",
            "order_line_id",
            unique=True,
            postgresql_where=text("status <> 'CANCELLED'"),
        ),
        Index("ix_dose_unit_batch", "batch_id", "status"),
        Index("ix_dose_unit_customer", "customer_id"),
        Index("ix_dose_unit_order", "order_id"),
    )

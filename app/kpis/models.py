"""KPI facts: one row per batch, built from immutable event times by an idempotent RQ job."""

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
    Numeric,
    text,
)


class KpiBatchFact(Model):
    """A batch's facts for the dashboards, keyed by the site-local day of its end of synthesis."""

    __tablename__ = "kpi_batch_fact"

    batch_id = Column(Integer, ForeignKey("batch.id", ondelete="CASCADE"), primary_key=True)
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False)
    day = Column(Date, nullable=False)
    eos_at = Column(DateTime(timezone=True), nullable=False)
    released_at = Column(DateTime(timezone=True), nullable=True)
    dispatched_at = Column(DateTime(timezone=True), nullable=True)
    delivered_at = Column(DateTime(timezone=True), nullable=True)
    lead_min = Column(Integer, nullable=True)  # end of synthesis -> QP release
    planned_corrected_mbq = Column(Numeric(14, 1), nullable=True)
    actual_mbq = Column(Numeric(14, 1), nullable=True)
    dispensed_eos_mbq = Column(Numeric(14, 1), nullable=True)  # dispensed doses decayed back to EOS
    qc_first_pass = Column(Boolean, nullable=True)
    computed_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    __table_args__ = (Index("ix_kpi_batch_fact_day_product", "day", "product_id"),)


class KpiDaily(Model):
    """The KPI facts aggregated per site day and product (rebuilt by the same idempotent job).

    Batches and activities count on the day of end of synthesis; orders on their delivery window's
    day: due = accepted orders whose window has ended, not cancelled by the hospital (producer
    cancellations are due and fail); on time = every dose delivered inside the window; in full =
    every ordered dose delivered with activity at its calibration time at least the ordered one."""

    __tablename__ = "kpi_daily"

    day = Column(Date, primary_key=True)
    product_id = Column(Integer, ForeignKey("product.id"), primary_key=True)
    batches = Column(Integer, nullable=False, server_default=text("0"))
    produced_mbq = Column(Numeric(16, 1), nullable=True)
    dispensed_eos_mbq = Column(Numeric(16, 1), nullable=True)
    orders_due = Column(Integer, nullable=False, server_default=text("0"))
    orders_on_time = Column(Integer, nullable=False, server_default=text("0"))
    orders_in_full = Column(Integer, nullable=False, server_default=text("0"))
    orders_otif = Column(Integer, nullable=False, server_default=text("0"))
    producer_cancelled = Column(Integer, nullable=False, server_default=text("0"))
    computed_at = Column(DateTime(timezone=True), nullable=False)


class KpiRefresh(Model):
    """When the facts were last computed (one row)."""

    __tablename__ = "kpi_refresh"

    id = Column(Integer, primary_key=True)
    computed_at = Column(DateTime(timezone=True), nullable=False)
    batches = Column(Integer, nullable=False)

    __table_args__ = (CheckConstraint("id = 1", name="ck_kpi_refresh_single_row"),)

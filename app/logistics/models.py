"""Shipments, their packages and dose units, the chain of custody, A2 values, recalls.

`shipment_custody` is append-only (triggers refuse UPDATE, DELETE, TRUNCATE): the chain of
hand-overs is evidence (GDP). `package_dose` keeps which dose went into which package, also for
cancelled shipments. `transport_a2` holds the A2 value per nuclide with the source it was taken from
(seeded by the migration from `logistics.domain.transport.A2_TBQ`).
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
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import relationship

from app.logistics.domain.shipments import CUSTODY_KINDS, SHIPMENT_STATES

RECALL_STATUSES = ("OPEN", "CLOSED")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class TransportA2(Model):
    __tablename__ = "transport_a2"
    __table_args__ = (
        CheckConstraint("a2_tbq > 0", name="ck_transport_a2_positive"),
        {"info": {"seeded": True}},
    )

    nuclide_symbol = Column(String(16), primary_key=True)
    a2_tbq = Column(Numeric(12, 6), nullable=False)
    source = Column(String(300), nullable=False)


class Shipment(Model):
    __tablename__ = "shipment"

    id = Column(Integer, primary_key=True)
    shipment_no = Column(String(24), unique=True, nullable=False)  # SHP-20261129-0001
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False)
    status = Column(String(16), nullable=False, server_default="PLANNED")
    courier = Column(String(120), nullable=True)
    planned_departure_at = Column(DateTime(timezone=True), nullable=True)
    dispatched_at = Column(DateTime(timezone=True), nullable=True)
    delivered_at = Column(DateTime(timezone=True), nullable=True)
    received_by = Column(String(200), nullable=True)
    cancel_reason = Column(Text, nullable=True)
    created_by_name = Column(String(200), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    version = Column(Integer, nullable=False, server_default=text("1"))

    customer = relationship("Customer")
    packages = relationship("Package", back_populates="shipment", order_by="Package.id")

    __table_args__ = (
        CheckConstraint(_in("status", SHIPMENT_STATES), name="ck_shipment_status"),
        CheckConstraint(
            "status <> 'CANCELLED' OR cancel_reason IS NOT NULL", name="ck_shipment_cancel_reason"
        ),
        CheckConstraint(
            "status NOT IN ('DISPATCHED', 'DELIVERED') OR dispatched_at IS NOT NULL",
            name="ck_shipment_dispatched_at",
        ),
        CheckConstraint(
            "status <> 'DELIVERED' OR (delivered_at IS NOT NULL AND received_by IS NOT NULL)",
            name="ck_shipment_delivered_fields",
        ),
        Index("ix_shipment_customer", "customer_id", "status"),
        Index("ix_shipment_status", "status", "planned_departure_at"),
    )


package_dose = Table(
    "package_dose",
    Model.metadata,
    Column("package_id", Integer, ForeignKey("package.id"), primary_key=True),
    Column("dose_unit_id", Integer, ForeignKey("dose_unit.id"), primary_key=True),
    Index("ix_package_dose_dose", "dose_unit_id"),
)


class Package(Model):
    __tablename__ = "package"

    id = Column(Integer, primary_key=True)
    shipment_id = Column(Integer, ForeignKey("shipment.id"), nullable=False)
    surface_dose_rate_msv_h = Column(Numeric(10, 4), nullable=False)
    dose_rate_1m_msv_h = Column(Numeric(10, 5), nullable=False)
    transport_index = Column(Numeric(5, 1), nullable=False)
    category = Column(String(16), nullable=False)
    un_number = Column(String(16), nullable=False)
    total_activity_mbq = Column(Numeric(14, 1), nullable=False)  # at packing time
    packed_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    packed_by_name = Column(String(200), nullable=False)

    shipment = relationship("Shipment", back_populates="packages")
    doses = relationship("DoseUnit", secondary=package_dose, order_by="DoseUnit.id")

    __table_args__ = (
        CheckConstraint("surface_dose_rate_msv_h >= 0 AND dose_rate_1m_msv_h >= 0", name="ck_package_rates"),
        CheckConstraint("category IN ('I-WHITE', 'II-YELLOW', 'III-YELLOW')", name="ck_package_category"),
        Index("ix_package_shipment", "shipment_id"),
    )


class CustodyEntry(Model):
    """One hand-over of a shipment. Never updated or deleted (triggers refuse it)."""

    __tablename__ = "shipment_custody"

    id = Column(BigInteger, Identity(), primary_key=True)
    shipment_id = Column(Integer, ForeignKey("shipment.id"), nullable=False)
    kind = Column(String(24), nullable=False)
    actor_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    actor_name = Column(String(200), nullable=False)  # who handed over / received
    occurred_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    note = Column(Text, nullable=True)

    __table_args__ = (
        CheckConstraint(_in("kind", CUSTODY_KINDS), name="ck_shipment_custody_kind"),
        Index("uq_shipment_custody_kind", "shipment_id", "kind", unique=True),
    )


class Recall(Model):
    __tablename__ = "recall"

    id = Column(Integer, primary_key=True)
    recall_no = Column(String(24), unique=True, nullable=False)
    start_type = Column(String(16), nullable=False)  # LOT or BATCH
    start_id = Column(Integer, nullable=False)
    reason = Column(Text, nullable=False)
    automatic = Column(Boolean, nullable=False, server_default=text("false"))
    status = Column(String(8), nullable=False, server_default="OPEN")
    opened_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    opened_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    opened_by_name = Column(String(200), nullable=False)

    items = relationship("RecallItem", back_populates="recall", order_by="RecallItem.id")

    __table_args__ = (
        CheckConstraint(_in("status", RECALL_STATUSES), name="ck_recall_status"),
        CheckConstraint("start_type IN ('LOT', 'BATCH')", name="ck_recall_start_type"),
        Index("ix_recall_start", "start_type", "start_id"),
    )


class RecallItem(Model):
    """One dose unit a recall reached, with where it went (a snapshot taken when the recall opened)."""

    __tablename__ = "recall_item"

    id = Column(Integer, primary_key=True)
    recall_id = Column(Integer, ForeignKey("recall.id"), nullable=False)
    dose_unit_id = Column(Integer, ForeignKey("dose_unit.id"), nullable=False)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False)
    order_id = Column(Integer, ForeignKey("customer_order.id"), nullable=False)
    hospital_order_reference = Column(String(40), nullable=False)
    shipment_id = Column(Integer, ForeignKey("shipment.id"), nullable=True)
    dose_status = Column(String(16), nullable=False)
    dispatched_at = Column(DateTime(timezone=True), nullable=True)
    delivered_at = Column(DateTime(timezone=True), nullable=True)

    recall = relationship("Recall", back_populates="items")

    __table_args__ = (
        Index("uq_recall_item_dose", "recall_id", "dose_unit_id", unique=True),
        Index("ix_recall_item_customer", "customer_id"),
    )

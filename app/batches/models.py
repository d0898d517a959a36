"""Batches, their append-only event log, deviations and the batch-number counter.

The status and the fields that follow from it (qc_status, qp_disposition, shipment_status,
status_before_exception, status_rank) are written only by `app.batches.service`, from
`app.batches.domain.fields`; CHECK constraints repeat the invariants that must hold whatever writes.
`batch_event` is append-only (triggers refuse UPDATE, DELETE and TRUNCATE), like the audit trail.

Customer visibility: a hospital user sees a batch only when the batch is linked to their hospital
in `batch_customer`. Orders (a later issue) add links when an order is assigned to a batch; until
then links are made when the batch is created (`customer_codes`) or by the demo seed.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import relationship

from app.batches.domain.states import EXCEPTION_STATES, STATES

EVENT_TYPES = ("STATUS_CHANGE", "QC", "DEVIATION", "DOSE_UNIT", "SHIPMENT", "MATERIAL", "SIGNATURE", "NOTE")
DEVIATION_STATUSES = ("OPEN", "CLOSED")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


batch_customer = Table(
    "batch_customer",
    Model.metadata,
    Column("batch_id", Integer, ForeignKey("batch.id", ondelete="CASCADE"), primary_key=True),
    Column("customer_id", Integer, ForeignKey("customer.id"), primary_key=True),
    # "which batches may this hospital see" is the hot direction
    Index("ix_batch_customer_customer", "customer_id", "batch_id"),
)


class Batch(Model):
    __tablename__ = "batch"

    id = Column(Integer, primary_key=True)
    batch_no = Column(String(40), nullable=False, unique=True)  # e.g. FDG-20261122-01
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False)
    site_id = Column(Integer, ForeignKey("site.id"), nullable=False)
    hot_cell_id = Column(Integer, ForeignKey("hot_cell.id"), nullable=True)
    owner_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)  # "My batches"
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)

    planned_start_at = Column(DateTime(timezone=True), nullable=False)
    planned_end_at = Column(DateTime(timezone=True), nullable=False)
    actual_start_at = Column(DateTime(timezone=True), nullable=True)  # production started
    actual_end_at = Column(DateTime(timezone=True), nullable=True)  # end of synthesis
    released_at = Column(DateTime(timezone=True), nullable=True)
    planned_activity_mbq = Column(Numeric(12, 1), nullable=True)  # at end of synthesis
    actual_yield_mbq = Column(Numeric(12, 1), nullable=True)

    status = Column(String(32), nullable=False, server_default="PLANNED")
    qc_status = Column(String(16), nullable=False, server_default="NOT_STARTED")
    qp_disposition = Column(String(16), nullable=True)
    shipment_status = Column(String(16), nullable=False, server_default="NOT_SHIPPED")
    status_before_exception = Column(String(32), nullable=True)
    status_rank = Column(SmallInteger, nullable=False, server_default=text("0"))
    version = Column(Integer, nullable=False, server_default=text("1"))  # +1 per status change

    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    # Lazy by default: the lock in transition_batch (FOR UPDATE) must not meet an outer join.
    product = relationship("Product")
    site = relationship("Site")
    hot_cell = relationship("HotCell")
    owner = relationship("User", foreign_keys=[owner_id])
    customers = relationship("Customer", secondary=batch_customer, order_by="Customer.code")

    __table_args__ = (
        CheckConstraint(_in("status", STATES), name="ck_batch_status"),
        CheckConstraint("planned_end_at >= planned_start_at", name="ck_batch_planned_window"),
        CheckConstraint("planned_activity_mbq IS NULL OR planned_activity_mbq > 0", name="ck_batch_activity"),
        CheckConstraint("actual_yield_mbq IS NULL OR actual_yield_mbq >= 0", name="ck_batch_yield"),
        # The derived fields can't disagree with the status, whatever writes the row.
        CheckConstraint(
            "status NOT IN ('RELEASED', 'DISPENSING_IN_PROGRESS', 'DISPENSED', 'PACKED', 'DISPATCHED', 'CLOSED')"
            " OR (qp_disposition = 'RELEASED' AND qc_status = 'PASSED' AND released_at IS NOT NULL)",
            name="ck_batch_released_fields",
        ),
        CheckConstraint("status <> 'ON_HOLD' OR qp_disposition = 'ON_HOLD'", name="ck_batch_hold_fields"),
        CheckConstraint("status <> 'REJECTED' OR qp_disposition = 'REJECTED'", name="ck_batch_reject_fields"),
        CheckConstraint("status <> 'FAILED_QC' OR qc_status = 'FAILED'", name="ck_batch_failed_qc_fields"),
        CheckConstraint(
            f"({_in('status', EXCEPTION_STATES)}) = (status_before_exception IS NOT NULL)",
            name="ck_batch_prior_state",
        ),
        # List filters and sorts (checked with EXPLAIN at 100,000 batches, see bench/batches.py).
        # INCLUDE: counting a page's total with status / product filters stays in the index.
        Index("ix_batch_planned", "planned_start_at", "id", postgresql_include=["status", "product_id"]),
        Index("ix_batch_status_planned", "status", "planned_start_at"),
        Index("ix_batch_product_planned", "product_id", "planned_start_at", postgresql_include=["status"]),
        Index("ix_batch_updated", "updated_at", "id"),
        Index("ix_batch_rank_planned", "status_rank", "planned_start_at"),
        Index("ix_batch_actual_start", "actual_start_at"),
        Index("ix_batch_released", "released_at"),
        Index("ix_batch_owner_planned", "owner_id", "planned_start_at"),
        Index("ix_batch_site", "site_id"),
        Index("ix_batch_hot_cell", "hot_cell_id"),
        Index("ix_batch_qc_status", "qc_status"),
        Index("ix_batch_qp_disposition", "qp_disposition"),
    )

    def __repr__(self) -> str:
        return self.batch_no or f"<Batch {self.id}>"


class BatchEvent(Model):
    """One line of a batch's timeline. Never updated or deleted (database triggers refuse it)."""

    __tablename__ = "batch_event"

    id = Column(BigInteger, Identity(), primary_key=True)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False)
    event_type = Column(String(16), nullable=False)
    title = Column(String(200), nullable=False)  # in words, e.g. "QC Results Submitted"
    from_status = Column(String(32), nullable=True)
    to_status = Column(String(32), nullable=True)  # set for every status change
    batch_version = Column(Integer, nullable=True)  # the version the status change started from
    actor_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    actor_name = Column(String(200), nullable=False)
    actor_role = Column(String(64), nullable=False)
    occurred_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    note = Column(Text, nullable=True)
    meta = Column("metadata", JSONB, nullable=True)
    trace_id = Column(String(64), nullable=True)
    is_override = Column(Boolean, nullable=False, server_default=text("false"))
    signature_id = Column(BigInteger, ForeignKey("esignature.id"), nullable=True)

    __table_args__ = (
        CheckConstraint(_in("event_type", EVENT_TYPES), name="ck_batch_event_type"),
        CheckConstraint("(to_status IS NULL) = (batch_version IS NULL)", name="ck_batch_event_version"),
        Index("ix_batch_event_batch_time", "batch_id", "occurred_at", "id"),
        # Two transitions from the same state of the same batch can never both commit.
        Index(
            "uq_batch_event_one_move_per_version",
            "batch_id",
            "batch_version",
            unique=True,
            postgresql_where=text("to_status IS NOT NULL"),
        ),
        # A signature signs one move.
        Index(
            "uq_batch_event_signature",
            "signature_id",
            unique=True,
            postgresql_where=text("signature_id IS NOT NULL"),
        ),
    )


class Deviation(Model):
    """A deviation on a batch: opening stops the batch (DEVIATION_OPEN), closing returns it."""

    __tablename__ = "deviation"

    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False)
    status = Column(String(8), nullable=False, server_default="OPEN")
    reason = Column(Text, nullable=False)
    from_status = Column(String(32), nullable=False)  # where the batch was when it was opened
    opened_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    opened_by_name = Column(String(200), nullable=False)
    opened_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    closed_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    closed_by_name = Column(String(200), nullable=True)
    closed_at = Column(DateTime(timezone=True), nullable=True)
    closing_note = Column(Text, nullable=True)

    __table_args__ = (
        CheckConstraint(_in("status", DEVIATION_STATUSES), name="ck_deviation_status"),
        CheckConstraint(
            "(status = 'OPEN') = (closed_at IS NULL) AND (status = 'OPEN' OR closing_note IS NOT NULL)",
            name="ck_deviation_closed_fields",
        ),
        Index("ix_deviation_batch", "batch_id"),
        Index("uq_deviation_one_open", "batch_id", unique=True, postgresql_where=text("status = 'OPEN'")),
    )


class BatchNumberCounter(Model):
    """Last sequence number used per product and site-local day (atomic upsert, safe under concurrency)."""

    __tablename__ = "batch_number_counter"

    product_id = Column(Integer, ForeignKey("product.id"), primary_key=True)
    day = Column(Date, primary_key=True)
    last_seq = Column(Integer, nullable=False)


# Saved views: a user's named filter sets for a list page (the batch list first).
#
# A saved view is a personal preference, not a GMP record: the owner creates, renames and deletes it
# freely. The filters are kept as the query string the page understands (validated when saved), so
# applying a view is just opening the page with it; names are unique per user and page, ignoring case.
class SavedView(Model):
    __tablename__ = "saved_view"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    page = Column(String(32), nullable=False, server_default="batches")
    name = Column(String(80), nullable=False)
    query = Column(String(2000), nullable=False, server_default="")
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="ck_saved_view_name"),
        Index("uq_saved_view_user_page_name", "user_id", "page", func.lower(name), unique=True),
    )


class BatchOrder(Model):
    """An order planned into a batch (the planner links them; an order is in at most one batch)."""

    __tablename__ = "batch_order"

    batch_id = Column(Integer, ForeignKey("batch.id"), primary_key=True)
    order_id = Column(Integer, ForeignKey("customer_order.id"), primary_key=True)
    linked_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    linked_by_name = Column(String(200), nullable=False)

    __table_args__ = (
        UniqueConstraint("order_id", name="uq_batch_order_order"),
        Index("ix_batch_order_batch", "batch_id"),
    )

"""The basic electronic batch record: a product's versioned master batch record (ordered steps with
instructions, expected values and limits) and each batch's executed copy of the active version."""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import relationship

MASTER_STATUSES = ("DRAFT", "ACTIVE", "RETIRED")
STEP_STATUSES = ("PENDING", "DONE", "SKIPPED")


class EbrMaster(Model):
    __tablename__ = "ebr_master"

    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False)
    version = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    status = Column(String(8), nullable=False, server_default="DRAFT")
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    activated_at = Column(DateTime(timezone=True), nullable=True)
    activated_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    signature_id = Column(BigInteger, ForeignKey("esignature.id"), nullable=True)
    retired_at = Column(DateTime(timezone=True), nullable=True)

    product = relationship("Product")
    steps = relationship("EbrMasterStep", order_by="EbrMasterStep.seq", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("product_id", "version", name="uq_ebr_master_product_version"),
        CheckConstraint("status IN ('DRAFT', 'ACTIVE', 'RETIRED')", name="ck_ebr_master_status"),
        CheckConstraint("status = 'DRAFT' OR signature_id IS NOT NULL", name="ck_ebr_master_signed"),
        Index(
            "uq_ebr_master_one_active", "product_id", unique=True, postgresql_where=text("status = 'ACTIVE'")
        ),
    )


class EbrMasterStep(Model):
    __tablename__ = "ebr_master_step"

    id = Column(Integer, primary_key=True)
    master_id = Column(Integer, ForeignKey("ebr_master.id", ondelete="CASCADE"), nullable=False)
    seq = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    instruction = Column(Text, nullable=False, server_default="")
    value_label = Column(String(100), nullable=True)  # e.g. "EOS activity"; None = a check-off step
    unit = Column(String(20), nullable=True)
    expected_value = Column(Numeric(14, 3), nullable=True)
    lower_limit = Column(Numeric(14, 3), nullable=True)
    upper_limit = Column(Numeric(14, 3), nullable=True)
    # The step's value is the end-of-synthesis activity: it becomes the batch's actual yield.
    is_yield = Column(Boolean, nullable=False, server_default=text("false"))

    __table_args__ = (
        UniqueConstraint("master_id", "seq", name="uq_ebr_master_step_seq"),
        CheckConstraint(
            "lower_limit IS NULL OR upper_limit IS NULL OR lower_limit <= upper_limit",
            name="ck_ebr_master_step_limits",
        ),
    )


class BatchEbrStep(Model):
    """A batch's copy of one master step (snapshot at batch creation) and its execution."""

    __tablename__ = "batch_ebr_step"

    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False)
    master_id = Column(Integer, ForeignKey("ebr_master.id"), nullable=False)
    seq = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    instruction = Column(Text, nullable=False, server_default="")
    value_label = Column(String(100), nullable=True)
    unit = Column(String(20), nullable=True)
    expected_value = Column(Numeric(14, 3), nullable=True)
    lower_limit = Column(Numeric(14, 3), nullable=True)
    upper_limit = Column(Numeric(14, 3), nullable=True)
    is_yield = Column(Boolean, nullable=False, server_default=text("false"))

    status = Column(String(8), nullable=False, server_default="PENDING")
    value = Column(Numeric(14, 3), nullable=True)
    note = Column(Text, nullable=True)
    out_of_limits = Column(Boolean, nullable=False, server_default=text("false"))
    corrections = Column(Integer, nullable=False, server_default="0")
    done_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    done_by_name = Column(String(200), nullable=True)
    done_at = Column(DateTime(timezone=True), nullable=True)
    deviation_id = Column(Integer, ForeignKey("deviation.id"), nullable=True)

    master = relationship("EbrMaster")

    __table_args__ = (
        UniqueConstraint("batch_id", "seq", name="uq_batch_ebr_step_seq"),
        CheckConstraint("status IN ('PENDING', 'DONE', 'SKIPPED')", name="ck_batch_ebr_step_status"),
        CheckConstraint("status = 'PENDING' OR done_at IS NOT NULL", name="ck_batch_ebr_step_done"),
        CheckConstraint("NOT out_of_limits OR note IS NOT NULL", name="ck_batch_ebr_step_ool_note"),
        CheckConstraint("status <> 'SKIPPED' OR note IS NOT NULL", name="ck_batch_ebr_step_skip_note"),
    )

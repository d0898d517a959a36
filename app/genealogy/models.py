"""The genealogy edge table and the material lots a batch used.

`genealogy_edge` is append-only (database triggers refuse UPDATE, DELETE and TRUNCATE): a link that
existed stays in the record even when what it links to is cancelled later; a cancelled shipment is
still part of the dose's history. `batch_material_lot` is append-only too: a wrong entry is answered
by a correcting entry, never by an edit.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)

NODE_TYPES = ("LOT", "BATCH", "DOSE", "SHIPMENT")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class GenealogyEdge(Model):
    """parent -> child, with the quantity or activity that passed and the act that made the link."""

    __tablename__ = "genealogy_edge"

    id = Column(BigInteger, Identity(), primary_key=True)
    parent_type = Column(String(16), nullable=False)
    parent_id = Column(Integer, nullable=False)
    child_type = Column(String(16), nullable=False)
    child_id = Column(Integer, nullable=False)
    quantity = Column(Numeric(14, 3), nullable=True)
    unit = Column(String(16), nullable=True)  # "MBq" for activity, the material's unit for lots
    event = Column(String(32), nullable=False)  # MATERIAL_USED, DOSE_DRAWN, DOSE_PACKED
    occurred_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    actor_name = Column(String(200), nullable=False)

    __table_args__ = (
        CheckConstraint(_in("parent_type", NODE_TYPES), name="ck_genealogy_edge_parent_type"),
        CheckConstraint(_in("child_type", NODE_TYPES), name="ck_genealogy_edge_child_type"),
        CheckConstraint(
            "NOT (parent_type = child_type AND parent_id = child_id)", name="ck_genealogy_edge_not_self"
        ),
        # Both directions are hot: forward from a lot (recall), backward from a dose (investigation).
        Index("ix_genealogy_edge_parent", "parent_type", "parent_id"),
        Index("ix_genealogy_edge_child", "child_type", "child_id"),
    )


class BatchMaterialLot(Model):
    """A material lot used by a batch (recorded by Production while the batch is in production)."""

    __tablename__ = "batch_material_lot"

    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False)
    lot_id = Column(Integer, ForeignKey("material_lot.id"), nullable=False)
    quantity = Column(Numeric(12, 3), nullable=False)
    unit = Column(String(16), nullable=False)
    recorded_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    recorded_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    recorded_by_name = Column(String(200), nullable=False)
    note = Column(Text, nullable=True)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_batch_material_lot_quantity"),
        Index("ix_batch_material_lot_batch", "batch_id"),
        Index("ix_batch_material_lot_lot", "lot_id"),
    )

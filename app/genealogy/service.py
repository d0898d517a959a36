"""Writing genealogy edges: inside the caller's transaction, never committing.

Rule: an edge is written by the act that creates the link (material lot used, dose drawn, dose
packed into a shipment), in that act's transaction, so the genealogy can never disagree with it.
Edges are never changed or removed (database triggers refuse it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.core.extensions import db
from app.genealogy.models import NODE_TYPES, GenealogyEdge


def record_edge(
    parent: tuple[str, int],
    child: tuple[str, int],
    event: str,
    actor_name: str,
    *,
    quantity: Decimal | float | None = None,
    unit: str | None = None,
    occurred_at: dt.datetime | None = None,
) -> GenealogyEdge:
    """Add parent -> child (e.g. ("LOT", 7) -> ("BATCH", 12)) to the caller's transaction, stamped
    `occurred_at` (the act's time; the database clock when None)."""
    for node_type, _ in (parent, child):
        if node_type not in NODE_TYPES:
            raise ValueError(f"unknown genealogy node type {node_type!r}")
    edge = GenealogyEdge(
        parent_type=parent[0],
        parent_id=parent[1],
        child_type=child[0],
        child_id=child[1],
        event=event,
        actor_name=actor_name,
        quantity=None if quantity is None else Decimal(str(quantity)),
        unit=unit,
    )
    if occurred_at is not None:
        edge.occurred_at = occurred_at
    db.session.add(edge)
    return edge

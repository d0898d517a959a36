"""Genealogy traversals: one recursive SQL query per direction.

Rules: the walk follows edges to any depth (no silent cap); a node already on the current path is
not entered again, so a cycle (which the acts never create, but a bad import could) ends the walk
instead of looping; a node reached by several paths is reported once, at its shortest depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text

from app.core.domain import ValidationFailed
from app.core.extensions import db
from app.genealogy.models import NODE_TYPES

Direction = Literal["forward", "backward", "both"]
DIRECTIONS = ("forward", "backward", "both")
PARAM_TYPES = {"lot": "LOT", "batch": "BATCH", "dose": "DOSE", "shipment": "SHIPMENT"}

# {near}/{far}: forward walks parent -> child, backward child -> parent. The path array holds the
# 'TYPE:id' keys of the nodes on the way: an edge back into the path is reported (is_cycle) but the
# walk does not go on from it, so a cycle ends instead of looping.
_WALK = """
WITH RECURSIVE walk(edge_id, node_type, node_id, depth, path, is_cycle) AS (
    SELECT e.id, e.{far}_type, e.{far}_id, 1,
           ARRAY[CAST(:start_key AS text), e.{far}_type || ':' || e.{far}_id],
           (e.{far}_type || ':' || e.{far}_id) = :start_key
    FROM genealogy_edge e
    WHERE e.{near}_type = :start_type AND e.{near}_id = :start_id
  UNION ALL
    SELECT e.id, e.{far}_type, e.{far}_id, w.depth + 1, w.path || (e.{far}_type || ':' || e.{far}_id),
           (e.{far}_type || ':' || e.{far}_id) = ANY (w.path)
    FROM walk w
    JOIN genealogy_edge e ON e.{near}_type = w.node_type AND e.{near}_id = w.node_id
    WHERE NOT w.is_cycle
)
SELECT e.id, e.parent_type, e.parent_id, e.child_type, e.child_id, e.quantity, e.unit, e.event,
       e.occurred_at, e.actor_name, min(w.depth) AS depth
FROM walk w JOIN genealogy_edge e ON e.id = w.edge_id
GROUP BY e.id
ORDER BY min(w.depth), e.id
"""
FORWARD_SQL = _WALK.format(near="parent", far="child")
BACKWARD_SQL = _WALK.format(near="child", far="parent")


@dataclass(frozen=True)
class Edge:
    id: int
    parent_type: str
    parent_id: int
    child_type: str
    child_id: int
    quantity: float | None
    unit: str | None
    event: str
    occurred_at: object
    actor_name: str
    depth: int
    direction: str


def parse_start(raw: str | None) -> tuple[str, int]:
    """'lot:12' -> ("LOT", 12); anything else is a 422 naming the accepted forms."""
    kind, _, ident = (raw or "").partition(":")
    node_type = PARAM_TYPES.get(kind.strip().lower())
    if node_type is None or not ident.strip().isdigit() or len(ident) > 12:
        raise ValidationFailed(
            "start must be lot:<id>, batch:<id>, dose:<id> or shipment:<id>.", {"start": "Not understood."}
        )
    return node_type, int(ident)


def parse_direction(raw: str | None) -> Direction:
    direction = (raw or "forward").strip().lower()
    if direction not in DIRECTIONS:
        raise ValidationFailed(
            "direction must be forward, backward or both.", {"direction": "Not understood."}
        )
    return direction  # type: ignore[return-value]


def walk(start: tuple[str, int], direction: Direction = "forward") -> list[Edge]:
    """Every edge reachable from `start` in `direction` ('both': ancestors and descendants)."""
    if start[0] not in NODE_TYPES:
        raise ValueError(start[0])
    params = {"start_type": start[0], "start_id": start[1], "start_key": f"{start[0]}:{start[1]}"}
    edges: list[Edge] = []
    for name, sql in (("forward", FORWARD_SQL), ("backward", BACKWARD_SQL)):
        if direction not in (name, "both"):
            continue
        for row in db.session.execute(text(sql), params):
            edges.append(
                Edge(
                    row.id,
                    row.parent_type,
                    row.parent_id,
                    row.child_type,
                    row.child_id,
                    None if row.quantity is None else float(row.quantity),
                    row.unit,
                    row.event,
                    row.occurred_at,
                    row.actor_name,
                    row.depth,
                    name,
                )
            )
    return edges


REACHED_SQL = (
    f"SELECT DISTINCT w.child_id FROM ({FORWARD_SQL}) w WHERE w.child_type = :node_type ORDER BY w.child_id"
)


def reached(start: tuple[str, int], node_type: str) -> list[int]:
    """Ids of the `node_type` nodes downstream of `start` (the recall question), sorted: the same
    forward walk, with only the ids coming back from the database."""
    if start[0] not in NODE_TYPES or node_type not in NODE_TYPES:
        raise ValueError(f"{start[0]} / {node_type}")
    params = {
        "start_type": start[0],
        "start_id": start[1],
        "start_key": f"{start[0]}:{start[1]}",
        "node_type": node_type,
    }
    return list(db.session.execute(text(REACHED_SQL), params).scalars())

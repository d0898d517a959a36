"""Genealogy traversals: breadth first, one SQL statement per level and direction.

Rules: the walk follows edges to any depth (no silent cap); each node is entered once, at its
shortest distance from the start, so a cycle (which the acts never create, but a bad import could)
ends the walk instead of looping, and an edge back to a node already reached is reported but not
followed; every edge reached is reported once, at its shortest depth (the number of links from the
start to its far end), the nearest first and by id within a depth.

It was one recursive query carrying each row's path (its cycle guard): at a lot feeding 10,000
batches x 20 doses that path work took 23 s in PostgreSQL alone (bench/dispensing.py). Level by
level, with the set of nodes already reached held here, each edge is read once; `reached` (the recall
question) reads only the far ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any, Literal, NamedTuple

from sqlalchemy import text

from app.core import sql
from app.core.domain import ValidationFailed
from app.genealogy.models import NODE_TYPES

Direction = Literal["forward", "backward", "both"]
DIRECTIONS = ("forward", "backward", "both")
PARAM_TYPES = {"lot": "LOT", "batch": "BATCH", "dose": "DOSE", "shipment": "SHIPMENT"}

# {near}/{far}: forward walks parent -> child, backward child -> parent. One level is the edges
# leaving the frontier's nodes, with one id array per node type (a level can hold 200,000 doses).
_FRONTIER = """
WHERE (e.{near}_type = 'LOT' AND e.{near}_id = ANY(CAST(:lot AS bigint[])))
   OR (e.{near}_type = 'BATCH' AND e.{near}_id = ANY(CAST(:batch AS bigint[])))
   OR (e.{near}_type = 'DOSE' AND e.{near}_id = ANY(CAST(:dose AS bigint[])))
   OR (e.{near}_type = 'SHIPMENT' AND e.{near}_id = ANY(CAST(:shipment AS bigint[])))
"""
_LEVEL = (
    "SELECT e.id, e.parent_type, e.parent_id, e.child_type, e.child_id, e.quantity, e.unit, e.event,"
    " e.occurred_at, e.actor_name FROM genealogy_edge e" + _FRONTIER
)  # in id order once here (a level of 200,000 rows sorted by the server spilled to disk)
_LEVEL_FAR = "SELECT e.{far}_type, e.{far}_id FROM genealogy_edge e" + _FRONTIER
SIDES = {"forward": ("parent", "child"), "backward": ("child", "parent")}  # a walk's near, far end
_FAR_COLUMNS = {"forward": (3, 4), "backward": (1, 2)}  # the far end's type and id in a _LEVEL row
LEVEL_SQL = {name: _LEVEL.format(near=near, far=far) for name, (near, far) in SIDES.items()}
LEVEL_FAR_SQL = {name: _LEVEL_FAR.format(near=near, far=far) for name, (near, far) in SIDES.items()}
if set(NODE_TYPES) != {"LOT", "BATCH", "DOSE", "SHIPMENT"}:  # the four arrays above
    raise RuntimeError("genealogy node types changed: update _FRONTIER")


def level_params(frontier: list[tuple[str, int]]) -> dict[str, list[int]]:
    """The frontier as the level statement's four id arrays."""
    params: dict[str, list[int]] = {"lot": [], "batch": [], "dose": [], "shipment": []}
    for node_type, node_id in frontier:
        params[node_type.lower()].append(node_id)
    return params


def end(edge: Any, side: str) -> tuple[str, int]:
    """An edge's node on `side` ("parent" or "child"; SIDES names a direction's near and far side)."""
    return (edge.parent_type, edge.parent_id) if side == "parent" else (edge.child_type, edge.child_id)


class Edge(NamedTuple):
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


def levels(
    start: tuple[str, int],
    statement: str,
    far: tuple[int, int],
    run: Callable[[dict[str, list[int]]], list[Any]] | None = None,
) -> Iterator[tuple[int, list[Any]]]:
    """(depth, rows) for each level of the breadth-first walk from `start`, one `statement` (a
    LEVEL_SQL or LEVEL_FAR_SQL entry) per level; `far`: where a row holds its far node's type and id.
    A node is entered once: the first (shortest) time it is reached. `run(params)` sends a level
    (default: the lean executor, plain tuples: a level can bring 200,000 rows; the benchmark passes
    its raw psycopg twin)."""
    if run is None:

        def run(params: dict[str, list[int]]) -> list[Any]:
            return sql.execute(("genealogy.level", statement), lambda: text(statement), params, plain=True)

    far_type, far_id = far
    entered, frontier, depth = {start}, [start], 0
    while frontier:
        depth += 1
        rows = run(level_params(frontier))
        yield depth, rows
        frontier = []
        for row in rows:
            node = (row[far_type], row[far_id])
            if node not in entered:
                entered.add(node)
                frontier.append(node)


def walk(start: tuple[str, int], direction: Direction = "forward") -> list[Edge]:
    """Every edge reachable from `start` in `direction` ('both': ancestors and descendants)."""
    if start[0] not in NODE_TYPES:
        raise ValueError(start[0])
    edges: list[Edge] = []
    for name in ("forward", "backward"):
        if direction not in (name, "both"):
            continue
        for depth, rows in levels(start, LEVEL_SQL[name], _FAR_COLUMNS[name]):
            rows.sort(key=itemgetter(0))
            edges.extend(
                Edge(
                    edge_id,
                    parent_type,
                    parent_id,
                    child_type,
                    child_id,
                    None if quantity is None else float(quantity),
                    unit,
                    event,
                    occurred_at,
                    actor_name,
                    depth,
                    name,
                )
                for edge_id, parent_type, parent_id, child_type, child_id, quantity, unit, event, occurred_at, actor_name in rows
            )
    return edges


def reached(start: tuple[str, int], node_type: str) -> list[int]:
    """Ids of the `node_type` nodes downstream of `start` (the recall question), sorted: the same
    forward walk, with only the far ends coming back from the database."""
    if start[0] not in NODE_TYPES or node_type not in NODE_TYPES:
        raise ValueError(f"{start[0]} / {node_type}")
    found: set[int] = set()
    for _depth, rows in levels(start, LEVEL_FAR_SQL["forward"], (0, 1)):
        found.update(node_id for far_type, node_id in rows if far_type == node_type)
    return sorted(found)

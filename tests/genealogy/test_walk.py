"""The breadth-first genealogy walk against the recursive query it replaced (the reference below):
same edges, same shortest depths, same order, on random graphs with shared nodes (a shipment reached
from many doses), diamonds and cycles; and the recall's `reached` against the reference's ids."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.core.extensions import db
from app.genealogy import queries as genealogy
from app.genealogy.service import record_edge

pytestmark = pytest.mark.usefixtures("app_ctx")

# The recursive query of the first version (each row carries its path; a node already on the path
# ends that branch), kept as the reference the new walk must agree with.
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

TYPES = ("LOT", "BATCH", "DOSE", "SHIPMENT")
BASE = 990_000
nodes = st.tuples(st.sampled_from(TYPES), st.integers(BASE, BASE + 5))
graphs = st.lists(st.tuples(nodes, nodes).filter(lambda e: e[0] != e[1]), min_size=1, max_size=25)


def _reference(start: tuple[str, int], name: str) -> list[tuple]:
    sql = FORWARD_SQL if name == "forward" else BACKWARD_SQL
    params = {"start_type": start[0], "start_id": start[1], "start_key": f"{start[0]}:{start[1]}"}
    return [(r.id, r.depth, name) for r in db.session.execute(text(sql), params)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edges=graphs, start_at=st.integers(0, 24), direction=st.sampled_from(genealogy.DIRECTIONS))
def test_the_walk_matches_the_recursive_reference(edges, start_at, direction):
    savepoint = db.session.begin_nested()  # edges cannot be deleted: each example is rolled back
    try:
        for parent, child in edges:
            record_edge(parent, child, "T", "test")
        db.session.flush()
        start = edges[start_at % len(edges)][0]
        got = [(e.id, e.depth, e.direction) for e in genealogy.walk(start, direction)]
        expected = [
            row
            for name in ("forward", "backward")
            if direction in (name, "both")
            for row in _reference(start, name)
        ]
        assert got == expected
        forward_ids = {
            r.child_id
            for r in db.session.execute(
                text(FORWARD_SQL),
                {"start_type": start[0], "start_id": start[1], "start_key": f"{start[0]}:{start[1]}"},
            )
            if r.child_type == "DOSE"
        }
        assert genealogy.reached(start, "DOSE") == sorted(forward_ids)
    finally:
        savepoint.rollback()


def test_a_start_with_no_edges_and_an_id_beyond_the_integer_range():
    assert genealogy.walk(("LOT", 10**11), "both") == []
    assert genealogy.reached(("LOT", 10**11), "DOSE") == []


def test_one_statement_per_level():
    from tests.statement_counting import counted

    record_edge(("LOT", BASE), ("BATCH", BASE), "T", "test")
    for d in range(3):
        record_edge(("BATCH", BASE), ("DOSE", BASE + d), "T", "test")
        record_edge(("DOSE", BASE + d), ("SHIPMENT", BASE), "T", "test")
    db.session.flush()
    with counted() as seen:
        edges = genealogy.walk(("LOT", BASE), "forward")
    # lot -> batch, batch -> 3 doses, 3 doses -> the shipment, the shipment -> nothing
    assert [e.depth for e in edges] == [1, 2, 2, 2, 3, 3, 3]
    assert len([s for s in seen if "genealogy_edge" in s]) == 4

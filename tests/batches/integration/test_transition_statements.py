"""SQL statements per plain transition through the service (issue 16: transitions within reach of
raw SQL). bench/batches.py's transitions/s follow the database round trips, and above all those made
while the audit chain's lock is held (it serialises every audited act). Fails when a change adds
statements; raise the budget only with a reason (and a new bench figure)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.batches import service as batches
from app.core.domain import DomainError
from app.core.extensions import db
from tests.batch_factories import actor, batch_in, qp_signature
from tests.statement_counting import counted

# Per move (BEGIN and COMMIT are not statements here): the batch row locked NOWAIT, the move (batch
# update and event insert in one statement, the event's row_to_json coming back for its seal, the
# audit chain's lock taken and its head read at its end by audit_chain_head()), and one INSERT of the
# event's seal and the transition's audit row.
# Before this budget: 9 (a product read for the expiry check of a move that can't expire, the
# update and the insert apart, the event read back for its seal, the two audit rows apart), then 5
# (the chain's lock as a statement of its own), then 4 (the chain's head as a statement of its own).
BUDGET = 3
# Of those, under the chain's lock: the end of the move's statement and the audit rows.
BUDGET_UNDER_CHAIN_LOCK = 2


def _statements(fn) -> list[str]:
    with counted() as seen:
        fn()
    return [" ".join(statement.split()) for statement in seen]


def test_one_plain_transition_costs_a_fixed_number_of_sql_statements(app, committed):
    production = actor("Production")
    warm, measured = batch_in("SCHEDULED"), batch_in("SCHEDULED")
    warm_id, measured_id = warm.id, measured.id
    batches.transition_batch(warm_id, "IN_PRODUCTION", production, "Warm up")  # compiled statements
    db.session.remove()  # a request starts with an empty session

    seen = _statements(lambda: batches.transition_batch(measured_id, "IN_PRODUCTION", production, "Start"))
    listing = "\n".join(s[:160] for s in seen)
    assert len(seen) <= BUDGET, f"{len(seen)} statements per transition (budget {BUDGET}):\n{listing}"
    assert seen[0].endswith("FOR UPDATE NOWAIT"), listing
    assert not any("FROM product" in s for s in seen), listing  # no shelf life needed for this move
    locked = next(i for i, s in enumerate(seen) if "audit_chain_head()" in s)
    assert len(seen) - locked <= BUDGET_UNDER_CHAIN_LOCK, listing
    # The audit rows are the transaction's last write. The move's statement takes the chain's lock
    # only after the batch row and the event are written (the function is joined to the written
    # event), and the function reads the head after the lock (its own snapshot: the true head).
    assert seen[-1].startswith("INSERT INTO audit_log"), listing
    move = seen[locked]
    assert "UPDATE batch" in move and "INSERT INTO batch_event" in move, listing
    assert move.index("audit_chain_head()") > move.rindex("RETURNING"), listing
    assert not any(s.startswith("SELECT id, hash, hash_alg FROM audit_log") for s in seen), listing

    db.session.remove()
    moved = batches.lock_batch(measured_id)
    assert moved.status == "IN_PRODUCTION" and moved.actual_start_at is not None
    db.session.rollback()


def test_a_move_that_can_be_refused_for_expiry_still_reads_the_shelf_life(app, committed):
    qp = actor("QP")
    fresh, expired = batch_in("QP_REVIEW"), batch_in("QP_REVIEW")
    now = dt.datetime.now(dt.UTC)
    fresh.actual_end_at = now - dt.timedelta(minutes=30)  # FDG: 600 minutes of shelf life
    expired.actual_end_at = now - dt.timedelta(minutes=601)
    db.session.commit()
    signatures = {b.id: qp_signature(b) for b in (fresh, expired)}
    db.session.commit()
    fresh_id, expired_id = fresh.id, expired.id
    db.session.remove()

    seen = _statements(
        lambda: batches.transition_batch(
            fresh_id, "RELEASED", qp, "Release", signature_id=signatures[fresh_id]
        )
    )
    assert any("FROM product" in s for s in seen), "\n".join(seen)
    with pytest.raises(DomainError) as refused:
        batches.transition_batch(expired_id, "RELEASED", qp, "Release", signature_id=signatures[expired_id])
    assert refused.value.code == "EXPIRED"

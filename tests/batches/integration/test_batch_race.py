"""Concurrent moves of one batch, with real threads and real connections (committed data).

Two people press a button on the same batch at the same moment: exactly one move happens, the other
gets 409 CONFLICT, and there is never more than one event from one state of the batch.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from app.batches import service as batches
from app.batches.models import Batch, BatchEvent
from app.core.domain import DomainError
from app.core.extensions import db
from tests.batch_factories import actor, batch_in, new_batch


def race(app, calls, *, hold_lock_s: float = 0.0):
    """Run `calls` (functions of nothing) in threads started together; returns outcomes in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)
    original = batches.apply_transition

    def slow_apply(*args, **kw):  # the winner keeps the row lock a while: the others must wait
        result = original(*args, **kw)
        time.sleep(hold_lock_s)
        return result

    def run(i, call):
        with app.app_context():
            try:
                barrier.wait()
                call()
                outcomes[i] = "ok"
            except DomainError as err:
                outcomes[i] = err.code
            except Exception as err:  # pragma: no cover - reported by the assertion below
                outcomes[i] = repr(err)
            finally:
                db.session.remove()

    batches.apply_transition = slow_apply
    try:
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        batches.apply_transition = original
    return outcomes


def status_events_from(batch_id: int, version: int) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(BatchEvent)
        .where(
            BatchEvent.batch_id == batch_id,
            BatchEvent.batch_version == version,
            BatchEvent.to_status.is_not(None),
        )
    ).scalar_one()


@pytest.fixture
def scheduled(app, committed):
    batch = batch_in("SCHEDULED")
    return batch.id, batch.version


def test_two_people_start_the_same_batch_one_wins_the_other_gets_conflict(app, scheduled):
    batch_id, version = scheduled
    prod = actor("Production")
    outcomes = race(
        app,
        [lambda: batches.transition_batch(batch_id, "IN_PRODUCTION", prod, "Start")] * 2,
        hold_lock_s=0.3,
    )
    assert sorted(outcomes) == ["CONFLICT", "ok"]
    db.session.expire_all()
    assert db.session.get(Batch, batch_id).status == "IN_PRODUCTION"
    assert status_events_from(batch_id, version) == 1


def test_eight_clients_with_the_version_they_saw_exactly_one_succeeds(app, scheduled):
    batch_id, version = scheduled
    people = [actor("Production"), actor("Planner")] * 4
    targets = ["IN_PRODUCTION", "CANCELLED"] * 4
    outcomes = race(
        app,
        [
            (
                lambda who=who, to=to: batches.transition_batch(
                    batch_id, to, who, "Now", expected_version=version
                )
            )
            for who, to in zip(people, targets, strict=True)
        ],
    )
    assert outcomes.count("ok") == 1 and outcomes.count("CONFLICT") == 7, outcomes
    assert status_events_from(batch_id, version) == 1


def test_concurrent_creations_get_distinct_consecutive_numbers(app, committed):
    new_batch()  # master data in place before the race
    import datetime as dt

    start = dt.datetime(2032, 1, 5, 0, 30, tzinfo=dt.UTC)
    planner = actor("Planner")
    outcomes = race(
        app,
        [
            (lambda: batches.create_batch("FDG", start, start + dt.timedelta(minutes=45), actor=planner))
            for _ in range(6)
        ],
    )
    assert outcomes == ["ok"] * 6
    numbers = db.session.execute(
        select(Batch.batch_no).where(Batch.batch_no.like("FDG-20320105-%"))
    ).scalars()
    assert sorted(numbers) == [f"FDG-20320105-0{i}" for i in range(1, 7)]

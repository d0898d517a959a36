"""Many threads in two processes book one tight window at once: never overbooked under the lock,
overbooked with the lock switched off (the test-only CAPACITY_LOCKS_DISABLED), which proves the
test really races. Committed data; each thread and process has its own database connection."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import threading

import pytest
from sqlalchemy import func, select

from app.capacity.models import Reservation
from app.core.extensions import db
from tests import capacity_factories as f

THREADS_PER_PROCESS = 8
PROCESSES = 2
ATTEMPTS_PER_THREAD = 3
TOTAL = 30  # minutes; each booking takes 6, so 5 fit


def _book_many(app, window_id, customer_id, product_id, results) -> None:
    from app.capacity import service
    from app.core.domain import DomainError

    def worker() -> None:
        for _ in range(ATTEMPTS_PER_THREAD):
            with app.app_context():
                try:
                    service.hold_reservation(
                        customer_id, product_id, window_id, 1, actor=f.PLANNER, now=f.NOW
                    )
                    results.append("ok")
                except DomainError as err:
                    results.append(err.code)
                finally:
                    db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(THREADS_PER_PROCESS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _child(app, window_id, customer_id, product_id, out) -> None:
    with app.app_context():
        db.engine.dispose(close=False)  # never share the parent's pooled connections
    results: list[str] = []
    _book_many(app, window_id, customer_id, product_id, results)
    out.put(results)


def _race(app, locks_disabled: bool) -> tuple[int, list[str]]:
    with app.app_context():
        cal = f.calendar()
        w = f.window(cal, total=TOTAL)
        if not db.session.execute(select(func.count()).select_from(f.TimeStandard)).scalar():
            f.standard("FDG", 6)
        ids = (w.id, f.customer().id, f.product().id)
        db.session.commit()
        db.session.remove()
    app.config["CAPACITY_LOCKS_DISABLED"] = locks_disabled
    app.config["CAPACITY_TEST_RACE_SLEEP"] = 0.02  # widen count->insert so an unlocked race shows
    try:
        ctx = mp.get_context("fork")
        out = ctx.Queue()
        procs = [ctx.Process(target=_child, args=(app, *ids, out)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        results: list[str] = []
        _book_many(app, *ids, results)  # the parent's threads race too
        for _ in procs:
            results.extend(out.get(timeout=120))
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
    finally:
        app.config["CAPACITY_LOCKS_DISABLED"] = False
        app.config["CAPACITY_TEST_RACE_SLEEP"] = 0
    with app.app_context():
        booked = db.session.execute(
            select(func.coalesce(func.sum(Reservation.reserved_minutes), 0)).where(
                Reservation.window_id == ids[0], Reservation.status == "HELD"
            )
        ).scalar_one()
        db.session.remove()
    return booked, results


def test_concurrent_bookings_never_overbook(app, committed):
    booked, results = _race(app, locks_disabled=False)
    attempts = (PROCESSES + 1) * THREADS_PER_PROCESS * ATTEMPTS_PER_THREAD
    assert len(results) == attempts
    assert booked == TOTAL  # full, not over
    assert results.count("ok") == TOTAL // 6
    assert set(results) == {"ok", "CAPACITY_EXCEEDED"}


def test_without_the_lock_the_same_race_overbooks(app, committed):
    booked, results = _race(app, locks_disabled=True)
    assert booked > TOTAL, f"no overbooking seen ({booked} of {TOTAL}): the test would not catch a race"


@pytest.mark.parametrize("sleep", [0])
def test_lock_switch_is_ignored_outside_testing(app, app_ctx, sleep):
    from app.capacity import service

    app.testing = False
    app.config["CAPACITY_LOCKS_DISABLED"] = True
    try:
        assert service._locks_disabled() is False
    finally:
        app.testing = True
        app.config["CAPACITY_LOCKS_DISABLED"] = False


def test_expiry_by_the_rq_job_on_the_real_redis(app, committed):
    """The hold's job is scheduled for expires_at; a worker with the scheduler marks it EXPIRED."""
    import time

    from rq import Queue, SimpleWorker

    from app.capacity import service
    from app.core.extensions import get_redis

    with app.app_context():
        cal = f.calendar()
        w = f.window(cal, day=dt.date.today() + dt.timedelta(days=10), total=60)
        f.standard("FDG", 6)
        db.session.commit()
        # Booked "15 minutes ago minus 2 s": the hold expires 2 s from now.
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15) + dt.timedelta(seconds=2)
        r = service.hold_reservation(f.customer().id, f.product().id, w.id, 1, actor=f.PLANNER, now=now)
        rid = r.id
        queue = Queue("default", connection=get_redis())
        job = queue.fetch_job(f"reservation-expiry-{rid}")
        assert job is not None and job.get_status() == "scheduled"
        db.session.remove()
        time.sleep(3)
        SimpleWorker([queue], connection=get_redis()).work(burst=True, with_scheduler=True)
        assert db.session.get(Reservation, rid).status == "EXPIRED"
        from app.notifications.models import Notification

        kinds = (
            db.session.execute(
                select(Notification.kind).where(
                    Notification.entity_type == "Reservation", Notification.entity_id == str(rid)
                )
            )
            .scalars()
            .all()
        )
        assert "RESERVATION_EXPIRED" in kinds and "RESERVATION_HELD" in kinds
        db.session.remove()


def test_periodic_sweep_is_enqueued_once_per_interval(app, committed):
    from app.core.extensions import get_redis
    from app.core.jobs import PERIODIC, enqueue_due_periodic

    assert "capacity-expire-overdue" in PERIODIC
    with app.app_context():
        r = get_redis()
        t = 10_000_000 * 60.0 + 1
        for name, (_func, every) in PERIODIC.items():  # a slot claimed by an earlier run of this test
            r.delete(f"rp:periodic:{name}:{int(t // every)}")
        first = enqueue_due_periodic(r, t)
        again = enqueue_due_periodic(r, t + 5)
        assert "capacity-expire-overdue" in first and "capacity-expire-overdue" not in again

"""Background jobs (RQ): thin entry points that take ids, are idempotent and re-check state.

Two pieces every job module uses:

- `enqueue_after_commit(func, *args, **kw)` queues a job only once the current database transaction
  has committed, and forgets it if the transaction (or the savepoint it was queued in) rolls back.
  A job must never run against data that was never committed, nor run before its data is visible.
- `@job` gives a job function an app context (creating the app from the environment when the
  worker has none), a fresh database session, and a connection pool that is not shared across the
  worker's fork.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

_PENDING_KEY = "rp_after_commit_jobs"


# --- enqueue after commit -----------------------------------------------------------------------
def _session():
    from app.core.extensions import db

    return db.session()


def _current_transaction(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def enqueue_after_commit(func: Callable[..., Any], *args: Any, _queue: str = "default", **kw: Any) -> None:
    """Enqueue `func(*args, **kw)` on RQ after the current transaction commits (dropped on rollback).

    Extra keyword arguments go to `Queue.enqueue` unchanged, so RQ's own options (`job_id`, `retry`,
    `job_timeout`, ...) work as documented by RQ; `_at=<aware datetime>` schedules it for that instant
    (`Queue.enqueue_at`, run by a worker started with the scheduler). With no transaction open,
    enqueue at once.
    """
    session = _session()
    transaction = _current_transaction(session)
    if transaction is None:
        _enqueue(_queue, func, args, kw)
        return
    session.info.setdefault(_PENDING_KEY, []).append((transaction, _queue, func, args, kw))


def pending_jobs(session: Session | None = None) -> list[tuple[str, Callable[..., Any]]]:
    """(queue, function) of jobs waiting for this session's commit; for tests and debugging."""
    session = session or _session()
    return [(q, f) for _t, q, f, _a, _k in session.info.get(_PENDING_KEY, [])]


def _enqueue(queue_name: str, func: Callable[..., Any], args: tuple, kw: dict) -> None:
    """`_at` (an aware datetime) in `kw` schedules the job for that instant (RQ `enqueue_at`)."""
    from app.core.extensions import get_queue

    kw = dict(kw)
    at = kw.pop("_at", None)
    try:
        if at is not None:
            get_queue(queue_name).enqueue_at(at, func, *args, **kw)
        else:
            get_queue(queue_name).enqueue(func, *args, **kw)
    except Exception:  # the commit is done; a lost job must not turn a success into an error page
        log.exception("could not enqueue %s after commit", getattr(func, "__name__", func))


def _descends_from(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    for _transaction, queue_name, func, args, kw in pending or ():
        _enqueue(queue_name, func, args, kw)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING_KEY)
    if not pending:
        return
    kept = [p for p in pending if not _descends_from(p[0], previous_transaction)]
    if kept:
        session.info[_PENDING_KEY] = kept
    else:
        session.info.pop(_PENDING_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # after_commit has already taken what committed; what is left at the end of the outermost
    # transaction (closed without commit or rollback) was never committed.
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


# --- app context for jobs -----------------------------------------------------------------------
_job_app: Flask | None = None
_pool_pid: int | None = None


def use_app(app: Flask | None) -> None:
    """Make jobs run in `app` when no app context is active (worker start-up, tests)."""
    global _job_app
    _job_app = app


def get_job_app() -> Flask:
    """The app jobs run in: the current one, the one set with `use_app`, or one built from the env.

    `RP_CONFIG` may name the config class (`config.DemoConfig`); otherwise `config.Config`, which
    reads DATABASE_URL, REDIS_URL and the rest from the environment.
    """
    global _job_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _job_app is None:
        from app import create_app

        config_class = None
        dotted = os.environ.get("RP_CONFIG")
        if dotted:
            import importlib

            module, _, name = dotted.rpartition(".")
            config_class = getattr(importlib.import_module(module), name)
        _job_app = create_app(config_class)
    return _job_app


def _dispose_pool_after_fork() -> None:
    """A forked work horse must not reuse its parent's pooled connections (they share a socket)."""
    global _pool_pid
    pid = os.getpid()
    if _pool_pid != pid:
        from app.core.extensions import db

        engine = db.engine
        # close=False: leave the parent's connections alone, just forget them in this process.
        if hasattr(engine, "dispose"):  # tests may have swapped in a Connection
            engine.dispose(close=False)
        _pool_pid = pid


def job(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for RQ entry points: run inside an app context with a session of its own."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from app.core.extensions import db

        app = get_job_app()
        # A new app context means a new scoped session, even inside a caller's context (tests).
        with app.app_context():
            _dispose_pool_after_fork()
            try:
                return func(*args, **kwargs)
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return wrapper


# --- periodic jobs ------------------------------------------------------------------------------
# name -> (function, interval in seconds). Parts register theirs in `register(appbuilder)`; the
# worker (app/jobs/worker.py) enqueues each one when its interval comes round.
PERIODIC: dict[str, tuple[Callable[..., Any], int]] = {}


def register_periodic(name: str, func: Callable[..., Any], every_seconds: int) -> None:
    """Run `func()` every `every_seconds` on the worker (sweeps that catch what a lost job missed)."""
    PERIODIC[name] = (func, every_seconds)


def enqueue_due_periodic(connection: Any, now: float, queue_name: str = "default") -> list[str]:
    """Enqueue the periodic jobs whose interval slot starts now. Each slot is claimed once in Redis
    (SET NX), so several workers never run the same sweep twice for one interval."""
    from rq import Queue

    queue = Queue(queue_name, connection=connection)
    started = []
    for name, (func, every) in sorted(PERIODIC.items()):
        slot = int(now // every)
        if connection.set(f"rp:periodic:{name}:{slot}", "1", nx=True, ex=every * 2):
            try:
                queue.enqueue(func, job_id=f"periodic-{name}-{slot}", job_timeout=max(every, 60))
                started.append(name)
            except Exception:
                log.exception("could not enqueue periodic job %s", name)
    return started

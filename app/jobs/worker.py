"""The RQ worker with its scheduler, inside the app: `python -m app.jobs.worker [QUEUE ...]`.

Equivalent to `rq worker --with-scheduler` on REDIS_URL, but it builds the app first (so config is
checked the same way as the web process) and works inside an app context. RQ forks a work horse per
job; the pool is emptied before the loop so no database connection is shared across the fork.
`run.py` starts this as a child process; in production run it under a process manager.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

DEFAULT_QUEUES = ("default",)
# The worker's Redis read timeout, above RQ's own need (its idle BLPOP waits worker_ttl - 15 s and
# RQ wants the socket to allow 10 s more: 415 s with the default ttl of 420 s).
WORKER_SOCKET_TIMEOUT_S = 430


def _exit_with_parent(parent_pid: int) -> None:
    """If the launcher dies without stopping us (kill -9), stop warmly instead of lingering."""

    def watch() -> None:
        while True:
            time.sleep(1)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _tick_periodic(connection, period_s: float = 5.0) -> None:
    """Enqueue the parts' periodic jobs (app.core.jobs.PERIODIC) when their interval comes round."""
    from app.core.jobs import enqueue_due_periodic

    def tick() -> None:
        while True:
            try:
                enqueue_due_periodic(connection, time.time())
            except Exception:  # Redis briefly away: try again next tick
                pass
            time.sleep(period_s)

    threading.Thread(target=tick, name="periodic-jobs", daemon=True).start()


def worker_connection(url: str):
    """The worker's own Redis client, its read timeout long enough for RQ's idle wait from the start.

    redis-py 8 gives every connection a 5 s read timeout unless told otherwise. RQ raises the pool's
    timeout when the Worker is made, but a connection already in the pool (the first ping, the
    periodic tick) keeps its 5 s: the idle BLPOP on it ended in "Timeout reading from socket" every
    few seconds, and RQ backed off exponentially each time, so a job enqueued meanwhile waited up to
    a minute. Connecting still fails fast (5 s) when Redis is down."""
    from redis import Redis

    return Redis.from_url(url, socket_timeout=WORKER_SOCKET_TIMEOUT_S, socket_connect_timeout=5)


def wait_for_redis(
    connection, *, first_delay_s: float = 1.0, max_delay_s: float = 30.0, tries: int | None = None
) -> bool:
    """Ping Redis until it answers, backing off up to `max_delay_s`: a Redis restart or outage must
    not stop the worker (jobs written meanwhile wait in Redis or in the outbox sweep)."""
    import logging

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    log = logging.getLogger("app.jobs.worker")
    delay, attempt = first_delay_s, 0
    while True:
        attempt += 1
        try:
            connection.ping()
            if attempt > 1:
                log.warning("Redis is reachable again after %d attempts; the worker resumes", attempt)
            return True
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            if tries is not None and attempt >= tries:
                return False
            log.warning("Redis unreachable (%s); the worker retries in %.0f s", exc, delay)
            time.sleep(delay)
            delay = min(max_delay_s, delay * 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="RadioPharma background job worker (RQ + scheduler).")
    parser.add_argument("queues", nargs="*", default=list(DEFAULT_QUEUES))
    parser.add_argument("--burst", action="store_true", help="quit when the queues are empty")
    parser.add_argument("--parent-pid", type=int, help="stop when this process is gone")
    args = parser.parse_args(argv)

    from rq import Queue, Worker

    from app import create_app
    from app.core.extensions import db

    app = create_app()
    if args.parent_pid:
        _exit_with_parent(args.parent_pid)
    with app.app_context():
        connection = worker_connection(app.config["REDIS_URL"])
        db.engine.dispose()
        queues = [Queue(name, connection=connection) for name in args.queues]
        if not args.burst:
            _tick_periodic(connection)
        from redis.exceptions import ConnectionError as RedisConnectionError

        while True:
            wait_for_redis(connection)
            try:
                worker = Worker(queues, connection=connection)
                worker.work(burst=args.burst, with_scheduler=True, logging_level="WARNING")
                return
            except RedisConnectionError:  # Redis went away mid-run: wait for it, then work again
                continue


if __name__ == "__main__":
    main()

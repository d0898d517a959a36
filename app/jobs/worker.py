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


def _exit_with_parent(parent_pid: int) -> None:
    """If the launcher dies without stopping us (kill -9), stop warmly instead of lingering."""

    def watch() -> None:
        while True:
            time.sleep(1)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="RadioPharma background job worker (RQ + scheduler).")
    parser.add_argument("queues", nargs="*", default=list(DEFAULT_QUEUES))
    parser.add_argument("--burst", action="store_true", help="quit when the queues are empty")
    parser.add_argument("--parent-pid", type=int, help="stop when this process is gone")
    args = parser.parse_args(argv)

    from rq import Queue, Worker

    from app import create_app
    from app.core.extensions import db, get_redis

    app = create_app()
    if args.parent_pid:
        _exit_with_parent(args.parent_pid)
    with app.app_context():
        connection = get_redis()
        db.engine.dispose()
        queues = [Queue(name, connection=connection) for name in args.queues]
        worker = Worker(queues, connection=connection)
        worker.work(burst=args.burst, with_scheduler=True, logging_level="WARNING")


if __name__ == "__main__":
    main()

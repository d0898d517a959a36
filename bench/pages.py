#!/usr/bin/env python3
"""Batch pages benchmark: server time to render /batches and /batches/<id> at scale.

    .venv/bin/python bench/pages.py [--batches 100000] [--runs 100]

Builds its own database (`rp_bench_100k`, reused when it already holds the batches; `--fresh` rebuilds it) with the builder of
bench/batches.py (100,000 batches, about 15 events each, one batch with 300 events), then renders
in process (Flask test client, signed in through the login form, no network), median and p95 of:

1. list, filtered: /batches/?status=CLOSED&status=DISPATCHED&status=RELEASED&product=FDG
                    &date_from=<90 days ago>&date_to=<today>&sort=planned_at&order=desc&page_size=50
   (the whole page: KPI cards, filter widgets, chips, 50 rows with their quick actions, saved views)
2. list, default:  /batches/ (no filter: the newest 50 of 100,000)
3. journey:        /batches/<id> of the batch with 300 events (header, stepper, full timeline)

each next to the same SQL statements the page sends (FAB's own session and permission lookups left
out), replayed through psycopg on the same data, interleaved so both see the same load: the ratio
is what rendering, the ORM and Python cost on top of the database.

Goals (issue 16): list and journey <= 60 ms median (issue 4 had list <= 150 ms, journey <= 100 ms).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The script's folder goes last on the path: bench/http.py must not shadow the standard library's http.
sys.path[:] = (
    [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]
)

from audit import server_url  # noqa: E402  (bench/audit.py helpers)
from batches import BENCH_DB, PASSWORD, captured_sql, open_bench_database, stats  # noqa: E402


def make_app(url: str):
    from app import create_app
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        DEMO_MODE = True  # a throwaway database; no secrets involved
        RATELIMIT_STORAGE_URI = "memory://"
        AUTH_RATE_LIMITED = False
        WTF_CSRF_ENABLED = False  # the bench signs in with a plain form post

    return create_app(BenchConfig)


def signed_in(app, username: str):
    client = app.test_client()
    r = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert r.status_code == 302, r.status_code
    return client


def measure(client, url, params, conn, statements, runs) -> tuple[list[float], list[float], int]:
    page, raw, size = [], [], 0
    for i in range(runs + 10):
        t = time.perf_counter()
        r = client.get(url, query_string=params)
        t_page = (time.perf_counter() - t) * 1000
        assert r.status_code == 200, r.status_code
        size = len(r.data)
        t = time.perf_counter()
        for sql, args in statements:
            conn.execute(sql, args).fetchall()
        t_raw = (time.perf_counter() - t) * 1000
        if i >= 10:
            page.append(t_page)
            raw.append(t_raw)
    return page, raw, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--db", default=BENCH_DB, help="bench database, reused when it holds --batches batches")
    ap.add_argument("--fresh", action="store_true", help="drop and rebuild the bench database")
    args = ap.parse_args()

    import psycopg

    server, _handle = server_url()
    app, url, raw_url, built = open_bench_database(server, args.db, args.batches, args.fresh, make_app)
    print(f"built {built['batches']:,} batches and {built['events']:,} events in {built['seconds']:.1f} s")

    today = dt.date.today()
    filtered = [
        ("status", "CLOSED"),
        ("status", "DISPATCHED"),
        ("status", "RELEASED"),
        ("product", "FDG"),
        ("date_from", (today - dt.timedelta(days=90)).isoformat()),
        ("date_to", today.isoformat()),
        ("sort", "planned_at"),
        ("order", "desc"),
        ("page_size", "50"),
    ]
    with psycopg.connect(raw_url, autocommit=True) as conn:
        events = conn.execute(
            "SELECT count(*) FROM batch_event WHERE batch_id = %s", (built["big"],)
        ).fetchone()[0]
    reads = {
        "list (filtered)": ("planner", "/batches/", filtered),
        "list (default)": ("planner", "/batches/", None),
        f"journey ({events} ev)": ("qp", f"/batches/{built['big']}", None),
    }
    goals = {"list (filtered)": 60.0, "list (default)": 60.0}  # issue 16
    clients = {user: signed_in(app, user) for user in {u for u, _, _ in reads.values()}}
    results = {}
    with psycopg.connect(raw_url, autocommit=True) as conn:
        for key, (user, u, p) in reads.items():
            sql = captured_sql(app, clients[user], u, None, p)
            page, raw, size = measure(clients[user], u, p, conn, sql, args.runs)
            results[key] = (page, raw, len(sql), size)

    print("\npage = server time of the whole HTML page in process; raw = the page's SQL through psycopg")
    print(
        f"{'page':22} {'median':>8} {'p95':>8} {'raw med':>8} {'raw p95':>8} {'ratio':>6} {'SQL':>4} {'KB':>5}  goal"
    )
    for key, (page, raw, n_sql, size) in results.items():
        p_med, p_p95 = stats(page)
        r_med, r_p95 = stats(raw)
        goal = goals.get(key, 60.0)
        verdict = f"median <= {goal:.0f} ms: {'met' if p_med <= goal else 'MISSED'}"
        print(
            f"{key:22} {p_med:6.1f}ms {p_p95:6.1f}ms {r_med:6.1f}ms {r_p95:6.1f}ms {p_med / r_med:5.1f}x"
            f" {n_sql:4} {size / 1024:5.0f}  {verdict}"
        )


if __name__ == "__main__":
    main()

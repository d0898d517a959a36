#!/usr/bin/env python3
"""Booking benchmark: many hospitals booking a few tight windows at once, over two server processes.

    .venv/bin/python bench/bookings.py [--clients 200] [--attempts 10000] [--windows 4] [--total 2000]

Builds its own database (`rp_bench_bookings`, always fresh) on DATABASE_URL's server (or an
embedded PostgreSQL under instance/bench-pg): migrations, roles, seeds, one dispensing calendar with
365 days × 4 windows, and an FDG time standard of 5 min per dose. Then:

1. Booking over HTTP: gunicorn with 2 worker processes (16 threads each) serves the app; `--clients`
   client threads (one keep-alive connection each, signed in as the planner) send `--attempts`
   POST /api/v1/reservations of one dose each, spread over `--windows` tight windows. Reported:
   bookings/s (attempts answered per second), holds made, refusals (409 CAPACITY_EXCEEDED), other
   answers, and overbooked minutes counted in SQL afterwards (must be 0).
2. The same lock-and-insert by raw SQL (psycopg): the advisory lock, the same remaining-minutes
   statement the service runs (app/capacity/queries.py), the INSERT, commit; `--clients` threads
   over 32 connections (the server's two processes × 16 threads hold as many). The ratio HTTP/raw is
   what Flask, FAB's JWT check, the ORM, the audit row and the notifications cost on top.
3. The month availability query for 365 days × 4 windows: GET /api/v1/capacity/windows over a year
   against the same statement through psycopg (median of 20 each).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The script's folder goes last on the path: bench/http.py must not shadow the standard library's http.
sys.path[:] = (
    [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]
)

import http.client  # noqa: E402

from audit import fresh_database, libpq_url, server_url  # noqa: E402  (bench/audit.py helpers)

BENCH_DB = "rp_bench_bookings"
PASSWORD = "radiopharma-demo"
MINUTES_PER_DOSE = 5
RAW_CONNECTIONS = 32


def build(url: str, windows: int, total: int) -> dict:
    from flask_migrate import upgrade

    from app import create_app
    from app.capacity import domain as rules
    from app.capacity.models import DeliveryWindow, ResourceCalendar, TimeStandard
    from app.core.extensions import db
    from app.masterdata.models import Customer, Product
    from app.security.sync import sync_roles
    from config import Config
    from seeds import run_seeds

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        DEMO_MODE = True

    app = create_app(BenchConfig)
    with app.app_context():
        upgrade()
        sync_roles(app.appbuilder)
        run_seeds(demo=False)
        tz = app.config["SITE_TIMEZONE"]
        cal = ResourceCalendar(code="BENCH", name="Bench dispensing cell", timezone=tz, cutoff_days_before=0)
        db.session.add(cal)
        db.session.flush()
        first = dt.date.today() + dt.timedelta(days=2)
        rows = []
        pattern = ((6, 8), (8, 10), (10, 12), (13, 15))
        for d in range(365):
            day = first + dt.timedelta(days=d)
            for start_h, end_h in pattern:
                s, e = dt.time(start_h), dt.time(end_h)
                rows.append(
                    {
                        "calendar_id": cal.id,
                        "local_date": day,
                        "start_time": s,
                        "end_time": e,
                        "start_at": rules.local_to_utc(day, s, tz),
                        "end_at": rules.local_to_utc(day, e, tz),
                        "total_minutes": 240,
                    }
                )
        db.session.execute(DeliveryWindow.__table__.insert(), rows)
        fdg = db.session.query(Product).filter_by(code="FDG").one()
        db.session.add(
            TimeStandard(
                product_id=fdg.id,
                dose_form="UNIT_DOSE",
                minutes_required=MINUTES_PER_DOSE,
                effective_from=dt.date(2020, 1, 1),
            )
        )
        tight = (
            db.session.query(DeliveryWindow)
            .filter_by(calendar_id=cal.id, local_date=first)
            .order_by(DeliveryWindow.start_at)
            .limit(windows)
            .all()
        )
        for w in tight:
            w.total_minutes = total
        db.session.commit()
        info = {
            "tight": [w.id for w in tight],
            "first": first,
            "customer_id": db.session.query(Customer).filter_by(code="KFSH").one().id,
            "product_id": fdg.id,
        }
        db.session.remove()
        db.engine.dispose()
    return info


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, DEMO_MODE="1", AUTH_RATE_LIMITED="0", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-w",
            "2",
            "-k",
            "gthread",
            "--threads",
            "16",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(120):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status in (200, 503):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def login(port: int) -> str:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"username": "planner", "password": PASSWORD, "provider": "db", "refresh": False})
    c.request("POST", "/api/v1/security/login", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = json.loads(r.read())
    return data["access_token"]


def http_run(port: int, token: str, tight: list[int], clients: int, attempts: int) -> dict:
    work: queue.Queue[int] = queue.Queue()
    for i in range(attempts):
        work.put(tight[i % len(tight)])
    counts: dict[str, int] = {}
    lock = threading.Lock()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        local: dict[str, int] = {}
        while True:
            try:
                wid = work.get_nowait()
            except queue.Empty:
                break
            body = json.dumps(
                {"product_code": "FDG", "window_id": wid, "dose_count": 1, "customer_code": "KFSH"}
            )
            try:
                conn.request("POST", "/api/v1/reservations", body, headers)
                r = conn.getresponse()
                data = r.read()
                key = "held" if r.status == 201 else json.loads(data).get("code", str(r.status))
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                key = "connection error"
            local[key] = local.get(key, 0) + 1
        with lock:
            for k, v in local.items():
                counts[k] = counts.get(k, 0) + v

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": time.perf_counter() - t0, "counts": counts}


def _psycopg_sql(sql: str) -> str:
    import re

    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)


def raw_run(raw_url: str, info: dict, clients: int, attempts: int) -> dict:
    import psycopg
    from psycopg.rows import namedtuple_row

    from app.capacity.queries import _ONE_WINDOW_SQL
    from app.capacity.service import WINDOW_LOCK_NAMESPACE

    remaining_sql = _psycopg_sql(str(_ONE_WINDOW_SQL))
    insert = (
        "INSERT INTO reservation (id, reference, customer_id, product_id, window_id, dose_count, minutes_per_dose,"
        " reserved_minutes, status, expires_at, created_by_name) VALUES (%(id)s, %(ref)s, %(c)s, %(p)s, %(w)s, 1,"
        " %(m)s, %(m)s, 'HELD', %(exp)s, 'bench')"
    )
    work: queue.Queue[int] = queue.Queue()
    for i in range(attempts):
        work.put(info["tight"][i % len(info["tight"])])
    conns: queue.Queue = queue.Queue()
    for _ in range(RAW_CONNECTIONS):
        conns.put(psycopg.connect(raw_url, options="-c TimeZone=UTC", row_factory=namedtuple_row))
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def client() -> None:
        local = {"held": 0, "CAPACITY_EXCEEDED": 0}
        while True:
            try:
                wid = work.get_nowait()
            except queue.Empty:
                break
            conn = conns.get()
            try:
                now = dt.datetime.now(dt.UTC)
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (WINDOW_LOCK_NAMESPACE, wid))
                    rows = cur.execute(remaining_sql, {"window_id": wid, "now": now}).fetchall()
                    r = rows[0]
                    left = (
                        r.total_minutes - r.held - r.committed if hasattr(r, "held") else r[7] - r[14] - r[15]
                    )
                    if left >= MINUTES_PER_DOSE:
                        new_id = cur.execute(
                            "SELECT nextval(pg_get_serial_sequence('reservation', 'id'))"
                        ).fetchone()[0]
                        cur.execute(
                            insert,
                            {
                                "id": new_id,
                                "ref": f"B-{new_id}",
                                "c": info["customer_id"],
                                "p": info["product_id"],
                                "w": wid,
                                "m": MINUTES_PER_DOSE,
                                "exp": now + dt.timedelta(minutes=15),
                            },
                        )
                        local["held"] += 1
                    else:
                        local["CAPACITY_EXCEEDED"] += 1
            finally:
                conns.put(conn)
        with lock:
            for k, v in local.items():
                counts[k] = counts.get(k, 0) + v

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    while not conns.empty():
        conns.get().close()
    return {"seconds": seconds, "counts": counts}


def overbooked(raw_url: str, tight: list[int]) -> int:
    import psycopg

    with psycopg.connect(raw_url) as conn:
        return conn.execute(
            """SELECT coalesce(sum(greatest(b - total_minutes, 0)), 0) FROM (
                 SELECT w.id, w.total_minutes, coalesce(sum(r.reserved_minutes) FILTER (
                   WHERE r.status = 'CONFIRMED' OR (r.status = 'HELD' AND r.expires_at > now())), 0) AS b
                 FROM delivery_window w LEFT JOIN reservation r ON r.window_id = w.id
                 WHERE w.id = ANY(%s) GROUP BY w.id) x""",
            (tight,),
        ).fetchone()[0]


def clear(raw_url: str, tight: list[int]) -> None:
    import psycopg

    with psycopg.connect(raw_url) as conn:
        conn.execute("DELETE FROM reservation WHERE window_id = ANY(%s)", (tight,))


def month_query(port: int, token: str, raw_url: str, first: dt.date, runs: int = 20) -> dict:
    import psycopg

    from app.capacity.queries import _RANGE_SQL

    last = first + dt.timedelta(days=364)
    path = f"/api/v1/capacity/windows?date_from={first}&date_to={last}"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sql = _psycopg_sql(str(_RANGE_SQL))
    api_ms, raw_ms, n = [], [], 0
    with psycopg.connect(raw_url, options="-c TimeZone=UTC") as conn:
        for _ in range(runs):
            t0 = time.perf_counter()
            c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            r = c.getresponse()
            n = json.loads(r.read())["count"]
            api_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            conn.execute(
                sql, {"date_from": first, "date_to": last, "now": dt.datetime.now(dt.UTC)}
            ).fetchall()
            raw_ms.append((time.perf_counter() - t0) * 1000)
    return {"windows": n, "api_ms": statistics.median(api_ms), "raw_ms": statistics.median(raw_ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--attempts", type=int, default=10_000)
    ap.add_argument("--windows", type=int, default=4)
    ap.add_argument("--total", type=int, default=2000, help="capacity minutes of each tight window")
    args = ap.parse_args()

    server, handle = server_url()
    url = fresh_database(server, BENCH_DB)
    raw_url = libpq_url(url)
    print(f"building {BENCH_DB}: 365 days x 4 windows, {args.windows} tight windows of {args.total} min ...")
    info = build(url, args.windows, args.total)
    capacity = args.windows * (args.total // MINUTES_PER_DOSE)
    port = free_port()
    proc = start_server(url, port)
    try:
        token = login(port)
        print(
            f"HTTP: {args.clients} clients, {args.attempts} attempts, gunicorn 2 processes x 16 threads ..."
        )
        h = http_run(port, token, info["tight"], args.clients, args.attempts)
        h_over = overbooked(raw_url, info["tight"])
        clear(raw_url, info["tight"])
        print("raw SQL: same lock, count and insert ...")
        r = raw_run(raw_url, info, args.clients, args.attempts)
        r_over = overbooked(raw_url, info["tight"])
        m = month_query(port, token, raw_url, info["first"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if handle is not None and hasattr(handle, "cleanup"):
            handle.cleanup()
    h_rate, r_rate = args.attempts / h["seconds"], args.attempts / r["seconds"]
    print()
    print(f"date {dt.date.today()}, cores {os.cpu_count()}, room for {capacity} one-dose holds")
    print(
        f"HTTP  : {h_rate:7.1f} attempts/s ({h['seconds']:.1f} s), answers {h['counts']}, "
        f"overbooked minutes {h_over}"
    )
    print(
        f"raw   : {r_rate:7.1f} attempts/s ({r['seconds']:.1f} s), answers {r['counts']}, "
        f"overbooked minutes {r_over}"
    )
    print(f"ratio : raw is {r_rate / h_rate:.1f}x the HTTP rate")
    print(
        f"year availability ({m['windows']} windows): API {m['api_ms']:.1f} ms, SQL {m['raw_ms']:.1f} ms, "
        f"ratio {m['api_ms'] / m['raw_ms']:.1f}x (medians of 20)"
    )
    assert h_over == 0 and r_over == 0, "overbooked"


if __name__ == "__main__":
    main()

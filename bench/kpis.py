#!/usr/bin/env python3
"""KPI page benchmark at one year of data: the /kpis page and its queries against the same SQL run raw.

    nice -n 10 .venv/bin/python bench/kpis.py [--runs 20] [--fresh]

Builds its own database (`rp_bench_kpis`, reused when it already holds the year; `--fresh` rebuilds
it) on DATABASE_URL's server (or an embedded PostgreSQL under instance/bench-pg): real migrations,
roles, seeds, then by INSERT ... SELECT generate_series:

- one dispensing calendar with 365 site days up to yesterday x 4 delivery windows (06-08, 08-10, 10-12,
  13-15, 240 minutes each);
- 20 batches a day (5 per window, products in turn), end of synthesis two hours before the window,
  QP release 30-79 min later, every 50th batch rejected by the QP;
- 2 orders per batch of a product that travels (30 a day: N-13 ammonia, 10 min half-life, is not
  shipped; 2 doses and 10 committed minutes each), half made from a confirmed reservation, plus an
  expired hold on every 5th window; a rejected batch's orders are cancelled by
  the site, every 37th other order by the hospital;
- per delivered order a shipment (dispatched 10-24 min after release, delivered 40-99 min later,
  so some arrive before the window opens: not on time), a package and its dose units (measured
  activity decayed to calibration time at least the ordered activity, except every 23rd dose);
- a QC session per batch with 5 results (every 17th failed, every 13th corrected: not first pass);
- the KPI facts refreshed once by `kpis.service.refresh_facts` (timed: the RQ job's work).

Then, in process (Flask test client signed in as the planner through the login form, no network),
median and p95 over --runs of:

1. the whole /kpis page for the year (every chart and table) and for the default 30 days;
2. each KPI query function of app/kpis/queries.py over the year;

each next to the same SQL statements (FAB's session and permission lookups left out) replayed
through psycopg on the same data, interleaved so both see the same machine load. The ratio is what
the ORM, Python and the template cost on top of the database. The load average is printed: the
machine is shared, read the ratios rather than the milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The script's folder goes last on the path: bench/http.py must not shadow the standard library's http.
sys.path[:] = (
    [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]
)

from audit import fresh_database, libpq_url, server_url  # noqa: E402  (bench/audit.py helpers)

BENCH_DB = "rp_bench_kpis"
PASSWORD = "radiopharma-demo"
DAYS = 365
BATCHES_PER_WINDOW = 5  # x 4 windows = 20 batches a day
FAB_SECURITY_SQL = ("SELECT ab_", "SELECT EXISTS (SELECT 1 \nFROM ab_permission")

WINDOWS_SQL = """
INSERT INTO delivery_window (calendar_id, local_date, start_time, end_time, start_at, end_at, total_minutes)
SELECT %(cal)s, d::date, p.s, p.e, (d::date + p.s) AT TIME ZONE %(tz)s, (d::date + p.e) AT TIME ZONE %(tz)s, 240
  FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d
 CROSS JOIN (VALUES (time '06:00', time '08:00'), (time '08:00', time '10:00'),
                    (time '10:00', time '12:00'), (time '13:00', time '15:00')) AS p(s, e)
"""

# Batches: k-th of the window's five; released 30-79 min after EOS, every 50th rejected by the QP.
BATCHES_SQL = """
WITH src AS (
    SELECT w.id AS window_id, k, w.start_at - interval '120 min' + k * interval '5 min' AS eos,
           (w.id * 5 + k) AS n, w.local_date
      FROM delivery_window w CROSS JOIN generate_series(0, %(per)s - 1) AS k
     WHERE w.calendar_id = %(cal)s),
ins AS (
    INSERT INTO batch (batch_no, product_id, site_id, hot_cell_id, owner_id, created_by_id,
        planned_start_at, planned_end_at, actual_start_at, actual_end_at, released_at,
        planned_activity_mbq, actual_yield_mbq, status, qc_status, qp_disposition, shipment_status,
        status_before_exception, status_rank, version, created_at, updated_at)
    SELECT 'BK-' || src.window_id || '-' || src.k, p.id, s.id, h.id, %(prod)s, %(prod)s,
           src.eos - interval '45 min', src.eos - (src.n %% 3) * interval '1 min',
           src.eos - interval '45 min', src.eos,
           CASE WHEN src.n %% 50 <> 0 THEN src.eos + (30 + (src.n * 7919) %% 50) * interval '1 min' END,
           60000, 42000 + (src.n * 31) %% 16000, d.status, d.qc, d.qp, d.ship, d.before, d.rank, 9,
           src.eos - interval '1 day', src.eos + interval '6 hours'
      FROM src
      JOIN LATERAL (SELECT id FROM product ORDER BY id OFFSET src.n %% %(products)s LIMIT 1) p ON true
      JOIN site s ON s.code = 'RUH'
      JOIN LATERAL (SELECT id FROM hot_cell WHERE site_id = s.id ORDER BY id OFFSET src.k %% 3 LIMIT 1) h ON true
      JOIN derived d ON d.status = CASE WHEN src.n %% 50 = 0 THEN 'REJECTED' ELSE 'CLOSED' END
    RETURNING id, batch_no, product_id, released_at, actual_end_at)
INSERT INTO bw (batch_id, window_id, k, product_id, released_at, eos)
SELECT id, split_part(batch_no, '-', 2)::int, split_part(batch_no, '-', 3)::int, product_id, released_at,
       actual_end_at
  FROM ins
"""

# N-13 ammonia (10 min half-life) is used where it is made: no hospital orders for it.
SHIPS_SQL = """
UPDATE bw SET ships = n.half_life_s >= 1800
  FROM product p JOIN nuclide n ON n.id = p.nuclide_id WHERE p.id = bw.product_id
"""

# Two orders per batch: j = 0 from a confirmed reservation, j = 1 placed directly.
RESERVATIONS_SQL = """
INSERT INTO reservation (reference, customer_id, product_id, window_id, dose_count, minutes_per_dose,
    reserved_minutes, status, expires_at, created_by_name, created_at, confirmed_at, cancelled_at, cancel_reason)
SELECT 'BR-' || bw.batch_id, c.id, bw.product_id, bw.window_id, 2, 5, 10,
       CASE WHEN bw.released_at IS NULL OR bw.batch_id %% 37 = 0 THEN 'CANCELLED' ELSE 'CONFIRMED' END,
       w.start_at - interval '3 days', 'Bench hospital', w.start_at - interval '4 days', w.start_at - interval '3 days',
       CASE WHEN bw.released_at IS NULL OR bw.batch_id %% 37 = 0 THEN w.start_at - interval '1 hour' END,
       CASE WHEN bw.released_at IS NULL OR bw.batch_id %% 37 = 0 THEN 'Order cancelled' END
  FROM bw JOIN delivery_window w ON w.id = bw.window_id
  JOIN LATERAL (SELECT id FROM customer ORDER BY id OFFSET (bw.batch_id * 2) %% %(customers)s LIMIT 1) c ON true
 WHERE bw.ships
"""

EXPIRED_HOLDS_SQL = """
INSERT INTO reservation (reference, customer_id, product_id, window_id, dose_count, minutes_per_dose,
    reserved_minutes, status, expires_at, created_by_name, created_at, expired_at)
SELECT 'BX-' || w.id, (SELECT min(id) FROM customer), (SELECT min(id) FROM product), w.id, 4, 5, 20, 'EXPIRED',
       w.start_at - interval '2 days', 'Bench hospital', w.start_at - interval '3 days', w.start_at - interval '2 days'
  FROM delivery_window w WHERE w.calendar_id = %(cal)s AND w.id %% 5 = 0
"""

# Order status: the site cancels the orders of a rejected batch; every 37th (by order) the hospital
# cancels; the rest are delivered.
ORDERS_SQL = """
INSERT INTO customer_order (order_no, customer_id, product_id, window_id, reservation_id, hospital_order_reference,
    status, dose_count, minutes_per_dose, committed_dispensing_minutes, created_at, submitted_at, validated_at,
    closed_reason)
SELECT 'BO-' || bw.batch_id || '-' || j, c.id, bw.product_id, bw.window_id,
       CASE WHEN j = 0 THEN r.id END, 'PO-' || bw.batch_id || '-' || j,
       CASE WHEN bw.released_at IS NULL OR (bw.batch_id * 2 + j) %% 37 = 0 THEN 'CANCELLED' ELSE 'DELIVERED' END,
       2, 5, 10, w.start_at - interval '3 days', w.start_at - interval '3 days', w.start_at - interval '2 days',
       CASE WHEN bw.released_at IS NULL OR (bw.batch_id * 2 + j) %% 37 = 0 THEN 'Cancelled' END
  FROM bw CROSS JOIN generate_series(0, 1) AS j
  JOIN delivery_window w ON w.id = bw.window_id
  JOIN reservation r ON r.reference = 'BR-' || bw.batch_id
  JOIN LATERAL (SELECT id FROM customer ORDER BY id OFFSET (bw.batch_id * 2 + j) %% %(customers)s LIMIT 1) c ON true
 WHERE bw.ships
"""

ORDER_EVENTS_SQL = """
INSERT INTO order_event (order_id, event_type, from_status, to_status, title, actor_user_id, actor_name, occurred_at)
SELECT o.id, 'STATUS_CHANGE', 'VALIDATED', 'CANCELLED', 'Order cancelled',
       CASE WHEN b.released_at IS NULL THEN %(planner)s ELSE %(hospital)s END,
       CASE WHEN b.released_at IS NULL THEN 'Omar Farouk' ELSE 'Hospital buyer' END, w.start_at - interval '1 hour'
  FROM customer_order o JOIN delivery_window w ON w.id = o.window_id
  JOIN bw b ON b.batch_id = split_part(o.order_no, '-', 2)::int
 WHERE o.status = 'CANCELLED' AND o.order_no LIKE 'BO-%%'
"""

LINES_SQL = """
INSERT INTO order_line (order_id, line_no, requested_activity_mbq, calibration_at, line_reference)
SELECT o.id, l, 400, w.start_at + interval '60 min', 'L' || l
  FROM customer_order o JOIN delivery_window w ON w.id = o.window_id CROSS JOIN generate_series(1, 2) AS l
 WHERE o.order_no LIKE 'BO-%%'
"""

SHIPMENTS_SQL = """
INSERT INTO shipment (shipment_no, customer_id, status, courier, planned_departure_at, dispatched_at, delivered_at,
    received_by, created_by_name, created_at)
SELECT 'BS-' || o.id, o.customer_id, 'DELIVERED', 'Bench courier', b.released_at + interval '10 min',
       b.released_at + (10 + o.id %% 15) * interval '1 min',
       b.released_at + (10 + o.id %% 15) * interval '1 min' + (40 + (o.id * 13) %% 60) * interval '1 min',
       'Ward nurse', 'Khalid Rahman', b.released_at
  FROM customer_order o JOIN bw b ON b.batch_id = split_part(o.order_no, '-', 2)::int
 WHERE o.status = 'DELIVERED' AND o.order_no LIKE 'BO-%%'
"""

PACKAGES_SQL = """
INSERT INTO package (shipment_id, surface_dose_rate_msv_h, dose_rate_1m_msv_h, transport_index, category,
    un_number, total_activity_mbq, packed_at, packed_by_name)
SELECT s.id, 0.05, 0.002, 0.2, 'II-YELLOW', 'UN2915', 2000, s.dispatched_at - interval '5 min', 'Khalid Rahman'
  FROM shipment s WHERE s.shipment_no LIKE 'BS-%%'
"""

# Measured 5 min after release; activity decayed to the calibration time = 1.03 x ordered (0.97 x
# for every 23rd dose: not in full).
DOSES_SQL = """
INSERT INTO dose_unit (order_line_id, order_id, batch_id, product_id, customer_id, activity_at_calibration_mbq,
    calibration_at, expected_activity_mbq, measured_activity_mbq, measured_at, volume_ml, status,
    dispensed_by_name, created_at, updated_at)
SELECT l.id, o.id, b.batch_id, o.product_id, o.customer_id, l.requested_activity_mbq, l.calibration_at,
       l.requested_activity_mbq,
       round((l.requested_activity_mbq * CASE WHEN l.id %% 23 = 0 THEN 0.97 ELSE 1.03 END
              * exp(ln(2) * extract(epoch FROM l.calibration_at - (b.released_at + interval '5 min'))
                    / n.half_life_s))::numeric, 1),
       b.released_at + interval '5 min', 1.0, 'DELIVERED', 'Khalid Rahman', b.released_at, b.released_at
  FROM customer_order o JOIN order_line l ON l.order_id = o.id
  JOIN bw b ON b.batch_id = split_part(o.order_no, '-', 2)::int
  JOIN product p ON p.id = o.product_id JOIN nuclide n ON n.id = p.nuclide_id
 WHERE o.status = 'DELIVERED' AND o.order_no LIKE 'BO-%%'
"""

PACKAGE_DOSES_SQL = """
INSERT INTO package_dose (package_id, dose_unit_id)
SELECT pk.id, d.id
  FROM dose_unit d JOIN shipment s ON s.shipment_no = 'BS-' || d.order_id JOIN package pk ON pk.shipment_id = s.id
"""

BATCH_CUSTOMERS_SQL = """
INSERT INTO batch_customer (batch_id, customer_id)
SELECT DISTINCT b.batch_id, o.customer_id
  FROM bw b JOIN customer_order o ON o.order_no LIKE 'BO-%%' AND split_part(o.order_no, '-', 2)::int = b.batch_id
"""

QC_SESSIONS_SQL = """
INSERT INTO batch_qc_session (batch_id, product_id, template_id, template_version, status, review_required,
    started_at, completed_at, analyst_name)
SELECT b.batch_id, b.product_id, t.id, t.version, 'COMPLETED', false, b.eos + interval '5 min',
       b.eos + interval '25 min', 'Yusuf Karim'
  FROM bw b
  JOIN LATERAL (SELECT id, version FROM product_qc_template WHERE product_id = b.product_id
                 ORDER BY status = 'ACTIVE' DESC, id DESC LIMIT 1) t ON true
"""

QC_RESULTS_SQL = """
INSERT INTO batch_qc_result (session_id, test_definition_id, display_order, test_code, test_name_en,
    criteria_display_en, result_type, unit, numeric_value, status, fail_reason, value_version, entered_by_name,
    entered_at)
SELECT s.id, t.id, t.ord, t.code, t.name_en, 'Bench criterion', t.result_type, t.unit, 5.0,
       CASE WHEN (s.id + t.ord) %% 17 = 0 THEN 'FAIL' ELSE 'PASS' END,
       CASE WHEN (s.id + t.ord) %% 17 = 0 THEN 'Outside the limits' END,
       CASE WHEN (s.id * 3 + t.ord) %% 13 = 0 THEN 2 ELSE 1 END, 'Yusuf Karim', s.completed_at
  FROM batch_qc_session s JOIN bw b ON b.batch_id = s.batch_id
 CROSS JOIN (SELECT id, code, name_en, result_type, unit, row_number() OVER (ORDER BY id) AS ord
               FROM qc_test_definition ORDER BY id LIMIT 5) t
"""


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


def one(cursor) -> tuple:
    """The one row a statement returns (a missing row is a broken bench database)."""
    row = cursor.fetchone()
    if row is None:
        raise SystemExit("expected a row, got none")
    return row


def stats(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def build(app, raw_url: str, last: dt.date) -> dict:
    import psycopg
    from batches import derived_rows
    from flask_migrate import upgrade

    from app.security.sync import sync_roles
    from seeds import run_seeds

    with app.app_context():
        upgrade()
        sync_roles(app.appbuilder)
        run_seeds(demo=False)
        tz = app.config["SITE_TIMEZONE"]
    first = last - dt.timedelta(days=DAYS - 1)
    t0 = time.perf_counter()
    with psycopg.connect(raw_url, autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute(
            "CREATE TEMP TABLE derived (status text, qc text, qp text, ship text, before text, rank int,"
            " released bool)"
        )
        cur.executemany("INSERT INTO derived VALUES (%s, %s, %s, %s, %s, %s, %s)", derived_rows())
        cur.execute(
            "CREATE TEMP TABLE bw (batch_id int PRIMARY KEY, window_id int, k int, product_id int,"
            " released_at timestamptz, eos timestamptz, ships bool)"
        )
        prod, planner = (
            one(cur.execute("SELECT id FROM ab_user WHERE username = %s", (u,)))[0]
            for u in ("prod", "planner")
        )
        hospital = cur.execute("SELECT user_id FROM customer_user ORDER BY id LIMIT 1").fetchone()
        if hospital is None:
            raise SystemExit("the seeds made no hospital user: cannot record hospital cancellations")
        products = one(cur.execute("SELECT count(*) FROM product"))[0]
        customers = one(cur.execute("SELECT count(*) FROM customer"))[0]
        cal = one(
            cur.execute(
                "INSERT INTO resource_calendar (code, name, timezone, cutoff_days_before) "
                "VALUES ('BENCH', 'Bench dispensing cell', %s, 0) RETURNING id",
                (tz,),
            )
        )[0]
        p = {
            "cal": cal,
            "tz": tz,
            "first": first,
            "last": last,
            "per": BATCHES_PER_WINDOW,
            "prod": prod,
            "planner": planner,
            "hospital": hospital[0],
            "products": products,
            "customers": customers,
        }
        for sql in (
            WINDOWS_SQL,
            BATCHES_SQL,
            SHIPS_SQL,
            RESERVATIONS_SQL,
            EXPIRED_HOLDS_SQL,
            ORDERS_SQL,
            ORDER_EVENTS_SQL,
            LINES_SQL,
            SHIPMENTS_SQL,
            PACKAGES_SQL,
            DOSES_SQL,
            PACKAGE_DOSES_SQL,
            BATCH_CUSTOMERS_SQL,
            QC_SESSIONS_SQL,
            QC_RESULTS_SQL,
        ):
            cur.execute(sql, p)
        conn.commit()
    with psycopg.connect(raw_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    built = counts(raw_url)
    built["seconds"] = time.perf_counter() - t0
    return built


def counts(raw_url: str) -> dict:
    import psycopg

    names = (
        "delivery_window",
        "batch",
        "reservation",
        "customer_order",
        "dose_unit",
        "shipment",
        "batch_qc_result",
    )
    with psycopg.connect(raw_url, autocommit=True) as conn:
        row = one(conn.execute("SELECT " + ", ".join(f"(SELECT count(*) FROM {n})" for n in names)))
    return dict(zip(names, row, strict=True))


def open_database(server: str, name: str, fresh: bool, last: dt.date) -> tuple:
    """(app, raw_url, built): reuse `name` when it holds the year ending `last`, else build it."""
    import psycopg
    from flask_migrate import upgrade

    from app.core.embedded import with_database
    from app.security.sync import sync_roles

    url = with_database(server, name)
    raw_url = libpq_url(url)
    if not fresh:
        try:
            with psycopg.connect(raw_url, autocommit=True) as conn:
                have = one(
                    conn.execute(
                        "SELECT max(local_date), count(*) FROM delivery_window w JOIN resource_calendar c"
                        " ON c.id = w.calendar_id WHERE c.code = 'BENCH'"
                    )
                )
        except psycopg.Error:
            have = (None, 0)
        if have[0] == last and have[1] == DAYS * 4:
            app = make_app(url)
            with app.app_context():
                upgrade()
                sync_roles(app.appbuilder)
            return app, raw_url, {**counts(raw_url), "seconds": 0.0}
    url = fresh_database(server, name)
    app = make_app(url)
    return app, raw_url, build(app, raw_url, last)


def capture(app, call) -> list[tuple[str, dict]]:
    """The statements `call()` sends (FAB's security queries left out), to be replayed by psycopg."""
    from sqlalchemy import event

    from app.core.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, dict]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().startswith(FAB_SECURITY_SQL):
            seen.append((statement, dict(parameters or {})))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return seen


def interleaved(call, conn, statements, runs: int, warm: int = 3) -> tuple[list[float], list[float]]:
    """`call()` and the same SQL through psycopg in turn, so both see the same machine load."""
    app_ms, raw_ms = [], []
    for i in range(runs + warm):
        t = time.perf_counter()
        call()
        t_app = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        for sql, args in statements:
            conn.execute(sql, args).fetchall()
        t_raw = (time.perf_counter() - t) * 1000
        if i >= warm:
            app_ms.append(t_app)
            raw_ms.append(t_raw)
    return app_ms, raw_ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--db", default=BENCH_DB, help="bench database, reused when it holds the year")
    ap.add_argument("--fresh", action="store_true", help="drop and rebuild the bench database")
    args = ap.parse_args()

    import psycopg

    load_before = os.getloadavg()
    server, _handle = server_url()
    today = dt.date.today() - dt.timedelta(days=1)  # the year up to yesterday: every window is over
    app, raw_url, built = open_database(server, args.db, args.fresh, today)
    print(
        f"data: {built['delivery_window']:,} windows, {built['batch']:,} batches, {built['reservation']:,}"
        f" reservations, {built['customer_order']:,} orders, {built['dose_unit']:,} doses, {built['shipment']:,}"
        f" shipments, {built['batch_qc_result']:,} QC results (built in {built['seconds']:.1f} s)"
    )

    from app.core.extensions import db
    from app.kpis import queries
    from app.kpis.service import refresh_facts

    with app.app_context():
        t = time.perf_counter()
        refresh_facts()
        refresh_s = time.perf_counter() - t
        facts = db.session.execute(db.text("SELECT count(*) FROM kpi_batch_fact")).scalar()
        days = db.session.execute(db.text("SELECT count(*) FROM kpi_daily")).scalar()
        db.session.remove()
    print(
        f"refresh_facts (the RQ job): {refresh_s * 1000:,.0f} ms for {facts:,} batch facts, {days:,} day rows"
    )

    client = app.test_client()
    r = client.post("/login/", data={"username": "planner", "password": PASSWORD})
    assert r.status_code == 302, r.status_code
    d0 = today - dt.timedelta(days=DAYS - 1)
    year = {"from": d0.isoformat(), "to": today.isoformat()}
    sizes: dict[str, int] = {}

    def page(params):
        def call():
            resp = client.get("/kpis/", query_string=params)
            assert resp.status_code == 200, resp.status_code
            sizes[str(params)] = len(resp.data)

        return call

    def function(fn, *a):
        def call():
            with app.app_context():
                fn(*a)
                db.session.remove()

        return call

    now = dt.datetime.now(dt.UTC)
    cases = {
        "/kpis page, one year": page(year),
        "/kpis page, default 30 days": page({}),
        "minutes_by_window": function(queries.minutes_by_window, d0, today, None, now),
        "lead_times": function(queries.lead_times, d0, today),
        "handoffs": function(queries.handoffs, d0, today),
        "yields (first 2,000)": function(queries.yields, d0, today),
        "dispensed": function(queries.dispensed, d0, today),
        "otif": function(queries.otif, d0, today),
        "first_pass": function(queries.first_pass, d0, today),
    }
    results = {}
    with psycopg.connect(raw_url, autocommit=True) as conn:
        for key, call in cases.items():
            statements = capture(app, call)
            app_ms, raw_ms = interleaved(call, conn, statements, args.runs)
            results[key] = (app_ms, raw_ms, len(statements))
    load_after = os.getloadavg()

    print(
        f"\nmedian / p95 of {args.runs} runs; raw = the same SQL statements through psycopg, interleaved;"
        f" {os.cpu_count()} cores, load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print(f"{'what':30} {'median':>9} {'p95':>9} {'raw med':>9} {'raw p95':>9} {'ratio':>6} {'SQL':>4}")
    for key, (app_ms, raw_ms, n_sql) in results.items():
        a_med, a_p95 = stats(app_ms)
        r_med, r_p95 = stats(raw_ms)
        print(
            f"{key:30} {a_med:7.1f}ms {a_p95:7.1f}ms {r_med:7.1f}ms {r_p95:7.1f}ms {a_med / r_med:5.1f}x {n_sql:4}"
        )
    for params, size in sizes.items():
        print(f"page size {params}: {size / 1024:,.0f} KB")


if __name__ == "__main__":
    main()

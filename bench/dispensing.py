#!/usr/bin/env python3
"""Genealogy, recall and dispensing benchmark.

    nice -n 10 .venv/bin/python bench/dispensing.py [--batches 10000] [--doses 20] [--runs 7] [--draws 500]
        [--only genealogy|dispensing]

Builds its own database (`rp_bench_dispensing`, dropped and re-created each run) on DATABASE_URL's
server (or an embedded PostgreSQL under instance/bench-pg): real migrations, roles and seeds, then by
INSERT ... SELECT generate_series one material lot feeding `--batches` batches, each drawn into
`--doses` dose units, each dose packed into its batch's shipment (lot -> batch -> dose -> shipment:
10,000 + 200,000 + 200,000 genealogy edges at the defaults), ANALYZE. Then, in process, median and
p95 of:

1. genealogy forward from the lot through `app.genealogy.queries.walk` (one statement per level, the
   set of reached nodes held in Python, as the genealogy page and API use it) against the same level
   statements and node set through psycopg, and the recursive query it replaced (one run: reference);
2. the recall query, `reached(lot, "DOSE")` (every dose downstream of the lot), against the same
   level statements (far ends only) run raw;
3. dispensing `--draws` doses of one released batch through `app.dispensing.service.dispense_dose`
   (batch lock, vial balance from every earlier draw, reading check, label data, genealogy edge,
   batch event, audit row, order follow-up, commit): per-dose ms, against a raw transaction per dose
   doing the same writes (UPDATE dose_unit, INSERT genealogy_edge, INSERT batch_event).

Ratios are service / raw (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import datetime as dt
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

BENCH_DB = "rp_bench_dispensing"
F18_HALF_LIFE_S = 6586.2


def make_app(url: str):
    from app import create_app
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        DEMO_MODE = True  # a throwaway database; no secrets involved
        RATELIMIT_STORAGE_URI = "memory://"
        AUTH_RATE_LIMITED = False

    return create_app(BenchConfig)


def stats(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def build_edges(raw_url: str, lot_id: int, batches: int, doses: int) -> dict:
    """lot -> batch -> dose -> shipment edges; batch, dose and shipment ids are synthetic (edges are
    polymorphic: the walk reads only genealogy_edge)."""
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(raw_url) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute(
            "INSERT INTO genealogy_edge (parent_type, parent_id, child_type, child_id, quantity, unit, event,"
            " occurred_at, actor_name)"
            " SELECT 'LOT', %(lot)s, 'BATCH', 1000000 + b, 1, 'kit', 'MATERIAL_USED',"
            " now() - interval '1 day' + b * interval '1 s', 'Lina Saleh' FROM generate_series(1, %(n)s) b",
            {"lot": lot_id, "n": batches},
        )
        cur.execute(
            "INSERT INTO genealogy_edge (parent_type, parent_id, child_type, child_id, quantity, unit, event,"
            " occurred_at, actor_name)"
            " SELECT 'BATCH', 1000000 + b, 'DOSE', 1000000 + (b - 1) * %(d)s + d, 400, 'MBq', 'DOSE_DRAWN',"
            " now() - interval '20 hours' + b * interval '1 s', 'Khalid Rahman'"
            " FROM generate_series(1, %(n)s) b CROSS JOIN generate_series(1, %(d)s) d",
            {"n": batches, "d": doses},
        )
        cur.execute(
            "INSERT INTO genealogy_edge (parent_type, parent_id, child_type, child_id, quantity, unit, event,"
            " occurred_at, actor_name)"
            " SELECT 'DOSE', 1000000 + (b - 1) * %(d)s + d, 'SHIPMENT', 1000000 + b, 400, 'MBq', 'DOSE_PACKED',"
            " now() - interval '19 hours' + b * interval '1 s', 'Faisal Tamimi'"
            " FROM generate_series(1, %(n)s) b CROSS JOIN generate_series(1, %(d)s) d",
            {"n": batches, "d": doses},
        )
        conn.commit()
    with psycopg.connect(raw_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE genealogy_edge")
        edges = conn.execute("SELECT count(*) FROM genealogy_edge").fetchone()[0]
    return {"seconds": time.perf_counter() - t0, "edges": edges}


def time_pair(service_fn, raw_fn, runs: int) -> tuple[list[float], list[float]]:
    """Service and raw interleaved (one warm-up each), so both see the same machine load."""
    service, raw = [], []
    for i in range(runs + 1):
        t = time.perf_counter()
        service_fn()
        s = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        raw_fn()
        r = (time.perf_counter() - t) * 1000
        if i:
            service.append(s)
            raw.append(r)
    return service, raw


def bench_genealogy(app, raw_url: str, lot_id: int, runs: int, expected_doses: int) -> None:
    import psycopg

    from app.genealogy import queries as genealogy

    start = ("LOT", lot_id)
    with app.app_context(), psycopg.connect(raw_url, autocommit=True) as conn:
        edges = genealogy.walk(start, "forward")
        assert len(edges) == len(raw_walk(conn, start, genealogy.LEVEL_SQL["forward"]))
        assert len(genealogy.reached(start, "DOSE")) == expected_doses

        walk_s, walk_r = time_pair(
            lambda: genealogy.walk(start, "forward"),
            lambda: raw_walk(conn, start, genealogy.LEVEL_SQL["forward"]),
            runs,
        )
        rec_s, rec_r = time_pair(
            lambda: genealogy.reached(start, "DOSE"),
            lambda: sorted(
                {i for t, i in raw_walk(conn, start, genealogy.LEVEL_FAR_SQL["forward"], 0, 1) if t == "DOSE"}
            ),
            runs,
        )
        t = time.perf_counter()
        old = conn.execute(
            RECURSIVE_SQL, {"start_type": "LOT", "start_id": lot_id, "start_key": f"LOT:{lot_id}"}
        )
        old_rows, old_s = len(old.fetchall()), time.perf_counter() - t
    report(f"genealogy forward from the lot ({len(edges):,} edges)", walk_s, walk_r)
    report(f"recall query: doses reached from the lot ({expected_doses:,})", rec_s, rec_r)
    print(
        f"  the recursive query with a path per row that the walk replaced: {old_s:,.1f} s ({old_rows:,} edges), once"
    )


def raw_walk(conn, start: tuple[str, int], sql: str, far_type: int = 3, far_id: int = 4) -> list[tuple]:
    """The walk with each level sent raw through psycopg (the same breadth-first bookkeeping as the
    service: `genealogy.levels` with a psycopg runner)."""
    from app.genealogy.queries import levels

    raw = _raw(sql)
    return [
        row
        for _depth, rows in levels(start, sql, (far_type, far_id), lambda p: conn.execute(raw, p).fetchall())
        for row in rows
    ]


# The first version's walk (each row carries its path; kept here as the reference figure).
RECURSIVE_SQL = """
WITH RECURSIVE walk(edge_id, node_type, node_id, depth, path, is_cycle) AS (
    SELECT e.id, e.child_type, e.child_id, 1, ARRAY[CAST(%(start_key)s AS text), e.child_type || ':' || e.child_id],
           (e.child_type || ':' || e.child_id) = %(start_key)s
    FROM genealogy_edge e WHERE e.parent_type = %(start_type)s AND e.parent_id = %(start_id)s
  UNION ALL
    SELECT e.id, e.child_type, e.child_id, w.depth + 1, w.path || (e.child_type || ':' || e.child_id),
           (e.child_type || ':' || e.child_id) = ANY (w.path)
    FROM walk w JOIN genealogy_edge e ON e.parent_type = w.node_type AND e.parent_id = w.node_id
    WHERE NOT w.is_cycle
)
SELECT e.id, e.parent_type, e.parent_id, e.child_type, e.child_id, e.quantity, e.unit, e.event,
       e.occurred_at, e.actor_name, min(w.depth) AS depth
FROM walk w JOIN genealogy_edge e ON e.id = w.edge_id GROUP BY e.id ORDER BY min(w.depth), e.id
"""


def _raw(sql: str) -> str:
    """SQLAlchemy's :name parameters as psycopg's %(name)s."""
    for name in ("lot", "batch", "dose", "shipment"):
        sql = sql.replace(f"CAST(:{name} AS", f"CAST(%({name})s AS")
    return sql


def report(what: str, service: list[float], raw: list[float]) -> None:
    sm, sp = stats(service)
    rm, rp = stats(raw)
    print(
        f"{what}: service median {sm:,.1f} ms (p95 {sp:,.1f}), raw SQL median {rm:,.1f} ms (p95 {rp:,.1f}),"
        f" ratio {sm / rm:.2f}"
    )


def released_batch_with_order(app, draws: int) -> tuple[int, list[int]]:
    """A RELEASED FDG batch (synthesis ended 10 min ago, 5 TBq in the vial) with one order of `draws`
    lines planned into it, and its dose units planned through the service."""
    from sqlalchemy import select, text

    from app.batches import service as batches
    from app.batches.domain.fields import derive_history
    from app.batches.domain.states import MAIN_PATH
    from app.batches.models import BatchOrder
    from app.capacity.models import DeliveryWindow, ResourceCalendar
    from app.core.actor import actor_from_user
    from app.core.extensions import db
    from app.dispensing import service as dispensing
    from app.masterdata.models import Customer
    from app.orders.models import Order, OrderLine

    with app.app_context():
        sm = app.appbuilder.sm
        planner = actor_from_user(sm.find_user(username="planner"))
        disp = actor_from_user(sm.find_user(username="disp"))
        now = dt.datetime.now(dt.UTC)
        end = now - dt.timedelta(minutes=10)
        batch = batches.create_batch("FDG", end - dt.timedelta(minutes=45), end, actor=planner)
        d = derive_history(list(MAIN_PATH[: MAIN_PATH.index("RELEASED") + 1]))
        db.session.execute(
            text(
                "UPDATE batch SET status = 'RELEASED', qc_status = :qc, qp_disposition = :qp,"
                " shipment_status = :ship, status_rank = :rank, actual_start_at = :start,"
                " actual_end_at = :end, released_at = :end, actual_yield_mbq = 5000000 WHERE id = :id"
            ),
            {
                "qc": d.qc_status,
                "qp": d.qp_disposition,
                "ship": d.shipment_status,
                "rank": d.status_rank,
                "start": end - dt.timedelta(minutes=45),
                "end": end,
                "id": batch.id,
            },
        )
        cal = ResourceCalendar(code="BENCH", name="bench", timezone="Asia/Riyadh")
        db.session.add(cal)
        db.session.flush()
        start = now + dt.timedelta(hours=1)
        window = DeliveryWindow(
            calendar_id=cal.id,
            local_date=start.date(),
            start_time=dt.time(9),
            end_time=dt.time(23),
            start_at=start,
            end_at=start + dt.timedelta(hours=1),
            total_minutes=5000,
        )
        db.session.add(window)
        customer = db.session.execute(select(Customer).order_by(Customer.id).limit(1)).scalar_one()
        db.session.flush()
        per_order = 100  # an order holds at most 200 lines: the draws come from several orders
        for n, first in enumerate(range(0, draws, per_order), start=1):
            lines = min(per_order, draws - first)
            order = Order(
                order_no=f"ORD-BENCH-{n:04d}",
                customer_id=customer.id,
                product_id=batch.product_id,
                window_id=window.id,
                hospital_order_reference=f"BENCH-{n:03d}",
                status="SCHEDULED",
                dose_count=lines,
                minutes_per_dose=4,
            )
            db.session.add(order)
            db.session.flush()
            for i in range(1, lines + 1):
                db.session.add(
                    OrderLine(order_id=order.id, line_no=i, requested_activity_mbq=370, calibration_at=start)
                )
            db.session.add(BatchOrder(batch_id=batch.id, order_id=order.id, linked_by_name="bench"))
        db.session.commit()
        doses = [u.id for u in dispensing.create_dose_units(batch.id, disp)]
        return batch.id, doses


def bench_dispensing(app, raw_url: str, draws: int) -> None:
    import psycopg

    from app.core.actor import actor_from_user
    from app.dispensing import service as dispensing
    from app.dispensing.domain import activity_to_draw_now

    batch_id, doses = released_batch_with_order(app, draws)
    per_dose = []
    with app.app_context():
        disp = actor_from_user(app.appbuilder.sm.find_user(username="disp"))
        for dose_id in doses:
            from app.core.extensions import db
            from app.dispensing.models import DoseUnit

            dose = db.session.get(DoseUnit, dose_id)
            now = dt.datetime.now(dt.UTC)
            reading = round(
                activity_to_draw_now(
                    dose.activity_at_calibration_mbq, dose.calibration_at, now, F18_HALF_LIFE_S
                ),
                1,
            )
            t = time.perf_counter()
            dispensing.dispense_dose(dose_id, reading, disp, now=now)
            per_dose.append((time.perf_counter() - t) * 1000)
            db.session.remove()
    raw = []
    with psycopg.connect(raw_url) as conn:
        prod = conn.execute("SELECT id FROM ab_user WHERE username = 'disp'").fetchone()[0]
        for i in range(draws):
            t = time.perf_counter()
            with conn.transaction():
                conn.execute(
                    "UPDATE dose_unit SET measured_activity_mbq = measured_activity_mbq, version = version + 1"
                    " WHERE id = %s",
                    (doses[i],),
                )
                conn.execute(
                    "INSERT INTO genealogy_edge (parent_type, parent_id, child_type, child_id, quantity, unit,"
                    " event, actor_name) VALUES ('BATCH', %s, 'DOSE', %s, 1000, 'MBq', 'DOSE_DRAWN', 'bench')",
                    (batch_id + 5_000_000, doses[i] + 5_000_000),
                )
                conn.execute(
                    "INSERT INTO batch_event (batch_id, event_type, title, actor_user_id, actor_name, actor_role,"
                    " note, metadata) VALUES (%s, 'DOSE_UNIT', 'Dose Dispensed (raw)', %s, 'bench', 'Dispensing',"
                    " NULL, '{}'::jsonb)",
                    (batch_id, prod),
                )
            raw.append((time.perf_counter() - t) * 1000)
    first, last = statistics.median(per_dose[:50]), statistics.median(per_dose[-50:])
    report(f"dispensing {draws} doses of one batch, per dose", per_dose, raw)
    print(
        f"  total {sum(per_dose) / 1000:.1f} s through the service; median of the first 50 draws {first:.1f} ms,"
        f" of the last 50 {last:.1f} ms (the vial balance reads every earlier draw)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--doses", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--only", choices=("genealogy", "dispensing"), help="run one part only")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade
    from sqlalchemy import select

    from app.core.extensions import db
    from app.masterdata.models import MaterialLot
    from app.security.sync import sync_roles
    from seeds import run_seeds

    server, _handle = server_url()  # an embedded server stops with the process
    url = fresh_database(server, BENCH_DB)
    raw_url = libpq_url(url)
    app = make_app(url)
    with app.app_context():
        upgrade()
        sync_roles(app.appbuilder)
        run_seeds(demo=False)
        lot_id = db.session.execute(select(MaterialLot.id).order_by(MaterialLot.id).limit(1)).scalar_one()
    if args.only != "dispensing":
        built = build_edges(raw_url, lot_id, args.batches, args.doses)
        print(
            f"built {built['edges']:,} genealogy edges (1 lot -> {args.batches:,} batches -> "
            f"{args.batches * args.doses:,} doses -> {args.batches:,} shipments) in {built['seconds']:.1f} s"
        )
        bench_genealogy(app, raw_url, lot_id, args.runs, args.batches * args.doses)
    if args.only != "genealogy":
        bench_dispensing(app, raw_url, args.draws)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""KPI queries: each one SQL aggregate over the facts (kpi_batch_fact, refreshed by the job) or over
the capacity tables; None means "no data" (the page says so, never a false zero)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text

from app.core.extensions import db

LEAD_TIME_SQL = text(
    """
    SELECT p.code AS product, count(*) AS batches,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY f.lead_min) AS median_min,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY f.lead_min) AS p90_min
      FROM kpi_batch_fact f JOIN product p ON p.id = f.product_id
     WHERE f.lead_min IS NOT NULL AND f.day BETWEEN :d0 AND :d1
       AND (CAST(:product_id AS integer) IS NULL OR f.product_id = :product_id)
     GROUP BY p.code ORDER BY p.code
    """
)

YIELD_SQL = text(
    """
    SELECT b.batch_no, p.code AS product, f.day, f.planned_corrected_mbq, f.actual_mbq,
           round(100 * f.actual_mbq / NULLIF(f.planned_corrected_mbq, 0), 1) AS yield_pct
      FROM kpi_batch_fact f JOIN batch b ON b.id = f.batch_id JOIN product p ON p.id = f.product_id
     WHERE f.actual_mbq IS NOT NULL AND f.planned_corrected_mbq IS NOT NULL AND f.day BETWEEN :d0 AND :d1
       AND (CAST(:product_id AS integer) IS NULL OR f.product_id = :product_id)
     ORDER BY f.day, b.batch_no
     LIMIT 2000
    """
)

# Minutes per day: published (open windows), reserved (live holds and confirmed bookings), committed
# (validated orders). Expired / cancelled reservations never count.
MINUTES_SQL = text(
    """
    WITH w AS (
      SELECT id, local_date, start_time, total_minutes FROM delivery_window
       WHERE NOT is_closed AND local_date BETWEEN :d0 AND :d1)
    SELECT w.local_date AS day, to_char(w.start_time, 'HH24:MI') AS window,
           w.total_minutes AS total_min,
           COALESCE((SELECT sum(r.reserved_minutes) FROM reservation r
                      WHERE r.window_id = w.id AND r.status IN ('HELD', 'CONFIRMED')
                        AND (CAST(:product_id AS integer) IS NULL OR r.product_id = :product_id)), 0) AS reserved_min,
           COALESCE((SELECT sum(o.committed_dispensing_minutes) FROM customer_order o
                      WHERE o.window_id = w.id AND o.committed_dispensing_minutes IS NOT NULL
                        AND (CAST(:product_id AS integer) IS NULL OR o.product_id = :product_id)), 0) AS committed_min
      FROM w ORDER BY w.local_date, w.start_time
    """
)

FIRST_PASS_SQL = text(
    """
    SELECT p.code AS product, r.test_code AS test, count(*) AS results,
           round(100.0 * count(*) FILTER (WHERE r.status = 'PASS' AND r.value_version <= 1) / count(*), 1)
             AS first_pass_pct
      FROM batch_qc_result r
      JOIN batch_qc_session s ON s.id = r.session_id
      JOIN kpi_batch_fact f ON f.batch_id = s.batch_id
      JOIN product p ON p.id = f.product_id
     WHERE r.status IN ('PASS', 'FAIL') AND f.day BETWEEN :d0 AND :d1
       AND (CAST(:product_id AS integer) IS NULL OR f.product_id = :product_id)
     GROUP BY p.code, r.test_code ORDER BY p.code, r.test_code
    """
)


def _params(d0: dt.date, d1: dt.date, product_id: int | None) -> dict[str, Any]:
    return {"d0": d0, "d1": d1, "product_id": product_id}


def lead_times(d0: dt.date, d1: dt.date, product_id: int | None = None) -> list[dict[str, Any]]:
    """End of synthesis -> QP release, median and 90th percentile in minutes, per product."""
    rows = db.session.execute(LEAD_TIME_SQL, _params(d0, d1, product_id)).mappings().all()
    return [
        {**r, "median_min": round(float(r["median_min"]), 1), "p90_min": round(float(r["p90_min"]), 1)}
        for r in rows
    ]


def yields(d0: dt.date, d1: dt.date, product_id: int | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in db.session.execute(YIELD_SQL, _params(d0, d1, product_id)).mappings()]


def minutes_by_window(d0: dt.date, d1: dt.date, product_id: int | None = None) -> list[dict[str, Any]]:
    rows = [dict(r) for r in db.session.execute(MINUTES_SQL, _params(d0, d1, product_id)).mappings()]
    for r in rows:
        r["label"] = f"{r['day']:%d %b} {r['window']}"
    return rows


def utilization(rows: list[dict[str, Any]], period: str) -> list[dict[str, Any]]:
    """Reserved / total and committed / total per ISO week ("week") or month ("month")."""
    buckets: dict[str, list[int]] = {}
    for r in rows:
        day: dt.date = r["day"]
        key = f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}" if period == "week" else f"{day:%Y-%m}"
        b = buckets.setdefault(key, [0, 0, 0])
        b[0] += int(r["total_min"])
        b[1] += int(r["reserved_min"])
        b[2] += int(r["committed_min"])
    return [
        {
            "period": k,
            "total_min": t,
            "reserved_pct": round(100 * res / t, 1) if t else None,
            "committed_pct": round(100 * com / t, 1) if t else None,
        }
        for k, (t, res, com) in sorted(buckets.items())
    ]


def first_pass(d0: dt.date, d1: dt.date, product_id: int | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in db.session.execute(FIRST_PASS_SQL, _params(d0, d1, product_id)).mappings()]


def computed_at() -> dt.datetime | None:
    return db.session.execute(text("SELECT computed_at FROM kpi_refresh WHERE id = 1")).scalar()

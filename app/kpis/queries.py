"""KPI queries: each one SQL aggregate over the facts (kpi_batch_fact, refreshed by the job) or over
the capacity tables; None means "no data" (the page says so, never a false zero)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text

from app.core.extensions import db

# Release lead time (end of synthesis -> QP release) of the batches released in [t0, t1), per product
# and in total (product NULL), read live from the batches' immutable times. The one lead-time query:
# the KPI page and the batch list's card both call `release_lead`.
LEAD_TIME_SQL = text(
    """
    SELECT p.code AS product, count(*) AS batches,
           avg(extract(epoch FROM b.released_at - b.actual_end_at) / 60) AS avg_min,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM b.released_at - b.actual_end_at) / 60)
             AS median_min,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM b.released_at - b.actual_end_at) / 60)
             AS p90_min
      FROM batch b JOIN product p ON p.id = b.product_id
     WHERE b.released_at >= :t0 AND b.released_at < :t1 AND b.actual_end_at IS NOT NULL
       AND (CAST(:product_id AS integer) IS NULL OR b.product_id = :product_id)
     GROUP BY GROUPING SETS ((p.code), ()) ORDER BY p.code NULLS LAST
    """
)

# Release -> first dispatch and first dispatch -> last delivery, per product (batch facts).
HANDOFF_SQL = text(
    """
    SELECT p.code AS product, count(f.dispatched_at) AS dispatched, count(f.delivered_at) AS delivered,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.dispatched_at - f.released_at) / 60)
             AS release_dispatch_median_min,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.dispatched_at - f.released_at) / 60)
             AS release_dispatch_p90_min,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.delivered_at - f.dispatched_at) / 60)
             AS dispatch_delivery_median_min,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.delivered_at - f.dispatched_at) / 60)
             AS dispatch_delivery_p90_min
      FROM kpi_batch_fact f JOIN product p ON p.id = f.product_id
     WHERE f.released_at IS NOT NULL AND f.dispatched_at IS NOT NULL AND f.day BETWEEN :d0 AND :d1
       AND (CAST(:product_id AS integer) IS NULL OR f.product_id = :product_id)
     GROUP BY p.code ORDER BY p.code
    """
)

# Per-day table (kpi_daily): OTIF per product, and dispensed against produced per day.
OTIF_SQL = text(
    """
    SELECT p.code AS product, sum(k.orders_due) AS orders_due, sum(k.orders_on_time) AS on_time,
           sum(k.orders_in_full) AS in_full, sum(k.orders_otif) AS otif,
           sum(k.producer_cancelled) AS producer_cancelled,
           round(100.0 * sum(k.orders_otif) / NULLIF(sum(k.orders_due), 0), 1) AS otif_pct
      FROM kpi_daily k JOIN product p ON p.id = k.product_id
     WHERE k.day BETWEEN :d0 AND :d1 AND k.orders_due > 0
       AND (CAST(:product_id AS integer) IS NULL OR k.product_id = :product_id)
     GROUP BY p.code ORDER BY p.code
    """
)

DISPENSED_SQL = text(
    """
    SELECT k.day, p.code AS product, k.batches, k.produced_mbq, k.dispensed_eos_mbq,
           round(100 * k.dispensed_eos_mbq / NULLIF(k.produced_mbq, 0), 1) AS dispensed_pct
      FROM kpi_daily k JOIN product p ON p.id = k.product_id
     WHERE k.day BETWEEN :d0 AND :d1 AND k.produced_mbq IS NOT NULL
       AND (CAST(:product_id AS integer) IS NULL OR k.product_id = :product_id)
     ORDER BY k.day, p.code
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


def _minutes(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def release_lead(t0: dt.datetime, t1: dt.datetime, product_id: int | None = None) -> dict[str, Any]:
    """End of synthesis -> QP release of the batches released in [t0, t1): {"products": [...],
    "total": {...} or None}, minutes (avg, median, 90th percentile)."""
    rows = db.session.execute(LEAD_TIME_SQL, {"t0": t0, "t1": t1, "product_id": product_id}).mappings().all()
    out = [
        {
            "product": r["product"],
            "batches": r["batches"],
            "avg_min": _minutes(r["avg_min"]),
            "median_min": _minutes(r["median_min"]),
            "p90_min": _minutes(r["p90_min"]),
        }
        for r in rows
    ]
    total = next((r for r in out if r["product"] is None and r["batches"]), None)
    return {"products": [r for r in out if r["product"] is not None], "total": total}


def day_bounds(d0: dt.date, d1: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Site days d0..d1 (inclusive) as UTC instants [start, end)."""
    from app.core.web import site_tz

    tz = site_tz()
    return (
        dt.datetime.combine(d0, dt.time(), tz).astimezone(dt.UTC),
        dt.datetime.combine(d1 + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC),
    )


def lead_times(d0: dt.date, d1: dt.date, product_id: int | None = None) -> list[dict[str, Any]]:
    """End of synthesis -> QP release of the batches released on site days d0..d1, per product."""
    return release_lead(*day_bounds(d0, d1), product_id)["products"]


def handoffs(d0: dt.date, d1: dt.date, product_id: int | None = None) -> list[dict[str, Any]]:
    """Release -> dispatch -> delivery, median and 90th percentile in minutes, per product."""
    rows = db.session.execute(HANDOFF_SQL, _params(d0, d1, product_id)).mappings().all()
    return [{k: (_minutes(v) if k.endswith("_min") else v) for k, v in r.items()} for r in rows]


def otif(d0: dt.date, d1: dt.date, product_id: int | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in db.session.execute(OTIF_SQL, _params(d0, d1, product_id)).mappings()]


def dispensed(d0: dt.date, d1: dt.date, product_id: int | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in db.session.execute(DISPENSED_SQL, _params(d0, d1, product_id)).mappings()]


def yields(d0: dt.date, d1: dt.date, product_id: int | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in db.session.execute(YIELD_SQL, _params(d0, d1, product_id)).mappings()]


def minutes_by_window(
    d0: dt.date, d1: dt.date, product_id: int | None = None, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Published (open) windows with total, reserved and committed minutes, counted by capacity's one
    availability query (`capacity.queries.window_rows`, the planner's too): reserved = live holds +
    committed orders, expired holds never count. Windows are shared by all products (no filter)."""
    from app.capacity.queries import window_rows

    now = now or dt.datetime.now(dt.UTC)
    return [
        {
            "day": w.local_date,
            "window": w.start_time.strftime("%H:%M"),
            "total_min": w.total_minutes,
            "reserved_min": w.held + w.committed,
            "committed_min": w.committed,
            "label": f"{w.local_date:%d %b} {w.start_time:%H:%M}",
        }
        for w in window_rows(d0, d1, now)
        if not w.closed
    ]


def today_utilization(now: dt.datetime | None = None) -> dict[str, Any]:
    """The batch list's Utilization card: today's minutes from `minutes_by_window` (the KPI page's)."""
    from app.core.web import site_tz

    now = now or dt.datetime.now(dt.UTC)
    day = now.astimezone(site_tz()).date()
    rows = minutes_by_window(day, day, now=now)
    total = sum(r["total_min"] for r in rows)
    if not total:
        return {
            "reserved_min": None,
            "committed_min": None,
            "total_min": None,
            "reason": "No delivery windows today.",
        }
    committed = sum(r["committed_min"] for r in rows)
    return {
        "reserved_min": sum(r["reserved_min"] for r in rows) - committed,  # held, beyond committed
        "committed_min": committed,
        "total_min": total,
        "reason": None,
    }


def lead_card(t0: dt.datetime, t1: dt.datetime) -> dict[str, Any] | None:
    """The batch list's lead-time card: the total row of `release_lead` (the KPI page's query)."""
    return release_lead(t0, t1)["total"]


def register_hooks() -> None:
    from app.batches import hooks

    hooks.register_utilization(today_utilization)
    hooks.register_release_lead(lead_card)


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

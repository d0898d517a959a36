"""The one write of the KPI part: rebuild the per-batch facts from immutable event times."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import text

from app.core.extensions import db

REFRESH_SQL = text(
    """
    INSERT INTO kpi_batch_fact (batch_id, product_id, day, eos_at, released_at, lead_min,
                                planned_corrected_mbq, actual_mbq, qc_first_pass, computed_at)
    SELECT b.id, b.product_id, (b.actual_end_at AT TIME ZONE :tz)::date, b.actual_end_at, b.released_at,
           CASE WHEN b.released_at IS NOT NULL
                THEN round(extract(epoch FROM b.released_at - b.actual_end_at) / 60)::int END,
           CASE WHEN b.planned_activity_mbq IS NOT NULL
                THEN round((b.planned_activity_mbq * exp(-ln(2) * extract(epoch FROM b.actual_end_at - b.planned_end_at)
                            / n.half_life_s))::numeric, 1) END,
           b.actual_yield_mbq, NULL, :now
      FROM batch b JOIN product p ON p.id = b.product_id JOIN nuclide n ON n.id = p.nuclide_id
     WHERE b.actual_end_at IS NOT NULL
    ON CONFLICT (batch_id) DO UPDATE SET
           product_id = EXCLUDED.product_id, day = EXCLUDED.day, eos_at = EXCLUDED.eos_at,
           released_at = EXCLUDED.released_at, lead_min = EXCLUDED.lead_min,
           planned_corrected_mbq = EXCLUDED.planned_corrected_mbq, actual_mbq = EXCLUDED.actual_mbq,
           computed_at = EXCLUDED.computed_at
    """
)


# Per batch: first dispatch and last delivery of its doses' shipments, and the dispensed doses'
# calibrator readings decayed back to end of synthesis (comparable with the produced activity).
HANDOFF_SQL = text(
    """
    UPDATE kpi_batch_fact f SET dispatched_at = x.dispatched_at, delivered_at = x.delivered_at,
           dispensed_eos_mbq = x.dispensed_eos_mbq
      FROM (SELECT f2.batch_id,
                   (SELECT min(s.dispatched_at) FROM dose_unit d JOIN package_dose pd ON pd.dose_unit_id = d.id
                      JOIN package pk ON pk.id = pd.package_id JOIN shipment s ON s.id = pk.shipment_id
                     WHERE d.batch_id = f2.batch_id AND s.status <> 'CANCELLED') AS dispatched_at,
                   (SELECT max(s.delivered_at) FROM dose_unit d JOIN package_dose pd ON pd.dose_unit_id = d.id
                      JOIN package pk ON pk.id = pd.package_id JOIN shipment s ON s.id = pk.shipment_id
                     WHERE d.batch_id = f2.batch_id AND s.status <> 'CANCELLED') AS delivered_at,
                   (SELECT round(sum(d.measured_activity_mbq
                                     * exp(ln(2) * extract(epoch FROM d.measured_at - f2.eos_at) / n.half_life_s))::numeric, 1)
                      FROM dose_unit d JOIN product p ON p.id = d.product_id JOIN nuclide n ON n.id = p.nuclide_id
                     WHERE d.batch_id = f2.batch_id AND d.status <> 'CANCELLED'
                       AND d.measured_activity_mbq IS NOT NULL) AS dispensed_eos_mbq
              FROM kpi_batch_fact f2) x
     WHERE x.batch_id = f.batch_id
    """
)

# Orders counted on their window's site day. Due: submitted, not rejected, window over, not cancelled
# by the hospital. A cancellation by the site (planner, admin) is due and fails OTIF.
ORDER_FACTS_SQL = """
    WITH o AS (
      SELECT o.id, o.product_id, w.local_date AS day, w.start_at, w.end_at, o.status,
             (o.status = 'CANCELLED' AND EXISTS (
                SELECT 1 FROM order_event e JOIN customer_user cu ON cu.user_id = e.actor_user_id
                 WHERE e.order_id = o.id AND e.to_status = 'CANCELLED')) AS customer_cancelled
        FROM customer_order o JOIN delivery_window w ON w.id = o.window_id
       WHERE o.submitted_at IS NOT NULL AND o.status NOT IN ('DRAFT', 'REJECTED') AND w.end_at < :now),
    due AS (SELECT * FROM o WHERE NOT customer_cancelled),
    lines AS (
      SELECT due.id AS order_id, l.id AS line_id, l.requested_activity_mbq,
             bool_or(s.delivered_at IS NOT NULL AND d.status = 'DELIVERED') AS delivered,
             bool_and(s.delivered_at BETWEEN due.start_at AND due.end_at) AS on_time,
             bool_or(d.status = 'DELIVERED' AND round((d.measured_activity_mbq
                 * exp(-ln(2) * extract(epoch FROM l.calibration_at - d.measured_at) / n.half_life_s))::numeric, 1)
                 >= l.requested_activity_mbq) AS full_activity
        FROM due JOIN order_line l ON l.order_id = due.id
        JOIN product p ON p.id = due.product_id JOIN nuclide n ON n.id = p.nuclide_id
        LEFT JOIN dose_unit d ON d.order_line_id = l.id AND d.status <> 'CANCELLED'
        LEFT JOIN package_dose pd ON pd.dose_unit_id = d.id LEFT JOIN package pk ON pk.id = pd.package_id
        LEFT JOIN shipment s ON s.id = pk.shipment_id AND s.status <> 'CANCELLED'
       WHERE due.status <> 'CANCELLED'
       GROUP BY due.id, l.id, l.requested_activity_mbq),
    per_order AS (
      SELECT due.id, due.product_id, due.day, due.status = 'CANCELLED' AS cancelled,
             due.status <> 'CANCELLED'
               AND COALESCE(bool_and(COALESCE(lines.delivered AND lines.on_time, false)), false) AS on_time,
             due.status <> 'CANCELLED'
               AND COALESCE(bool_and(COALESCE(lines.delivered AND lines.full_activity, false)), false) AS in_full
        FROM due LEFT JOIN lines ON lines.order_id = due.id
       GROUP BY due.id, due.product_id, due.day, due.status)
    SELECT day, product_id, count(*) AS orders_due,
           count(*) FILTER (WHERE on_time) AS orders_on_time,
           count(*) FILTER (WHERE in_full) AS orders_in_full,
           count(*) FILTER (WHERE on_time AND in_full) AS orders_otif,
           count(*) FILTER (WHERE cancelled) AS producer_cancelled
      FROM per_order GROUP BY day, product_id
"""

DAILY_SQL = text(
    """
    INSERT INTO kpi_daily (day, product_id, batches, produced_mbq, dispensed_eos_mbq, orders_due,
                           orders_on_time, orders_in_full, orders_otif, producer_cancelled, computed_at)
    SELECT COALESCE(b.day, o.day), COALESCE(b.product_id, o.product_id), COALESCE(b.batches, 0),
           b.produced_mbq, b.dispensed_eos_mbq, COALESCE(o.orders_due, 0), COALESCE(o.orders_on_time, 0),
           COALESCE(o.orders_in_full, 0), COALESCE(o.orders_otif, 0), COALESCE(o.producer_cancelled, 0), :now
      FROM (SELECT day, product_id, count(*) AS batches, sum(actual_mbq) AS produced_mbq,
                   sum(dispensed_eos_mbq) AS dispensed_eos_mbq
              FROM kpi_batch_fact GROUP BY day, product_id) b
      FULL JOIN ("""
    + ORDER_FACTS_SQL
    + """) o ON o.day = b.day AND o.product_id = b.product_id
    """
)


def refresh_facts(now: dt.datetime | None = None) -> int:
    """Rebuild the facts from the batches' immutable times (idempotent: same input, same rows)."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        n = db.session.execute(REFRESH_SQL, {"tz": current_app.config["SITE_TIMEZONE"], "now": now}).rowcount
        db.session.execute(
            text(
                "DELETE FROM kpi_batch_fact f WHERE NOT EXISTS (SELECT 1 FROM batch b WHERE b.id = f.batch_id "
                "AND b.actual_end_at IS NOT NULL)"
            )
        )
        db.session.execute(HANDOFF_SQL)
        # The per-day table is rebuilt whole in the same transaction: readers see the old or the new.
        db.session.execute(text("DELETE FROM kpi_daily"))
        db.session.execute(DAILY_SQL, {"now": now})
        db.session.execute(
            text(
                "INSERT INTO kpi_refresh (id, computed_at, batches) VALUES (1, :now, :n) "
                "ON CONFLICT (id) DO UPDATE SET computed_at = :now, batches = :n"
            ),
            {"now": now, "n": n},
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return int(n)

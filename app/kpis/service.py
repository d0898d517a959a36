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

"""RQ entry point: refresh the KPI facts (idempotent; run every 15 minutes by the worker)."""

from __future__ import annotations

from app.core.jobs import job


@job
def refresh_kpi_facts() -> int:
    from app.kpis.service import refresh_facts

    return refresh_facts()

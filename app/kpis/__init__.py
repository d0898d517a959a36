"""KPI dashboards that read across parts (issue 12)."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's page, its export and the periodic refresh of the facts."""
    from app.core.jobs import register_periodic
    from app.kpis import queries, views
    from app.kpis.jobs import refresh_kpi_facts

    queries.register_hooks()  # the batch list's lead-time and utilization cards
    views.register(appbuilder)
    register_periodic("kpis-refresh-facts", refresh_kpi_facts, every_seconds=900)

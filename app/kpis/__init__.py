"""KPI dashboards that read across parts (issue 12)."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's page, its export and the periodic refresh of the facts."""
    from app.kpis import views

    views.register(appbuilder)

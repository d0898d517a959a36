"""Planning: the planner's day (reserved vs committed minutes per delivery window) and validated
orders into batch plans. It sits at the top of the parts: it reads capacity and orders and plans
batches through the batch service."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's page and API (the batch list's utilisation card is the KPI part's)."""
    from app.planning import api, views

    api.register(appbuilder)
    views.register(appbuilder)

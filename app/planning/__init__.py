"""Planning: the planner's day (reserved vs committed minutes per delivery window) and validated
orders into batch plans. It sits at the top of the parts: it reads capacity and orders and plans
batches through the batch service."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's page, API and the batch list's utilisation hook."""
    from app.planning import api, queries, views

    queries.register_hooks()
    api.register(appbuilder)
    views.register(appbuilder)

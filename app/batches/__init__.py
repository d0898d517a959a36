"""Batches: the batch state machine, events, deviations, the batch list and journey."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from flask import current_app

    from app.batches import api, looks, views, views_states

    looks.register(current_app)
    views.register(appbuilder)
    views_states.register(appbuilder)
    api.register(appbuilder)
    from app.batches import audit_names

    audit_names.register()
    from app.batches import ebr_views

    ebr_views.register(appbuilder)

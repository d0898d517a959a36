"""Audit: the hash-chained, append-only audit trail, its verification and its viewer."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from app.audit import views

    views.register(appbuilder)

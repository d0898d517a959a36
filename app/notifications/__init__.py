"""Notifications: in-app notifications, the e-mail outbox and the sender job."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries, views and APIs."""
    from app.notifications import views

    views.register(appbuilder)

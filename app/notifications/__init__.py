"""Notifications: in-app notifications, the e-mail outbox and templates, the sender job."""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's menu entries and views."""
    from app.notifications import views

    views.register(appbuilder)

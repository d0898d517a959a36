"""Notifications: in-app notifications, the e-mail outbox and templates, the sender job."""

from __future__ import annotations

# The sweep sends what a lost job missed and the retries whose backoff has passed.
SWEEP_EVERY_SECONDS = 60


def register(appbuilder) -> None:
    """This part's menu entries, views and the periodic e-mail sweep."""
    from app.core.jobs import register_periodic
    from app.notifications import views
    from app.notifications.jobs import send_pending_emails

    views.register(appbuilder)
    register_periodic("notifications-send-pending", send_pending_emails, every_seconds=SWEEP_EVERY_SECONDS)

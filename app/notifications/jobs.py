"""RQ entry points for notification e-mail. They take ids and re-check state (see the service)."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.jobs import job


@job
def send_notification_emails(notification_ids: Sequence[int]) -> dict[str, int]:
    """E-mail these notifications once each (skips those already sent, read, or of inactive users)."""
    from app.notifications.service import deliver_emails

    return deliver_emails(list(notification_ids))


@job
def send_pending_emails() -> dict[str, int]:
    """Sweep: e-mail whatever is still pending (a lost job, Redis down at commit, a dead worker)."""
    from app.notifications.service import deliver_emails

    return deliver_emails(None)

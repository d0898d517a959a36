"""Notifications: in-app rows in the caller's transaction, e-mail by a job after commit.

Rule: a notification exists exactly when the business change that caused it committed (the rows are
written in the caller's transaction and the e-mail job is enqueued only after commit), and each
notification is e-mailed at most once however often its job runs.

E-mail goes through a pluggable sender: SMTP when MAIL_SERVER is configured, otherwise the outbox
table only (demo, tests), or the log (MAIL_TRANSPORT=log).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from flask import current_app
from flask_appbuilder.security.sqla.models import Role, User, assoc_user_role
from sqlalchemy import and_, or_, select, update

from app.core.extensions import db
from app.core.jobs import enqueue_after_commit
from app.notifications.models import (
    EMAIL_FAILED,
    EMAIL_PENDING,
    EMAIL_SENDING,
    EMAIL_SENT,
    EMAIL_SKIPPED,
    EmailOutbox,
    Notification,
)

log = logging.getLogger(__name__)

# A claim older than this is taken to be from a worker that died mid-send; the mail is retried.
STALE_CLAIM = dt.timedelta(minutes=10)


# --- writing notifications ------------------------------------------------------------------------
def recipients(roles: Iterable[str] = (), user_ids: Iterable[int] = ()) -> list[int]:
    """Active users holding any of `roles`, plus the active users among `user_ids` (no duplicates)."""
    roles, user_ids = list(roles), [int(u) for u in user_ids]
    if not roles and not user_ids:
        return []
    conditions = []
    if roles:
        conditions.append(
            User.id.in_(
                select(assoc_user_role.c.user_id)
                .join(Role, Role.id == assoc_user_role.c.role_id)
                .where(Role.name.in_(roles))
            )
        )
    if user_ids:
        conditions.append(User.id.in_(user_ids))
    query = select(User.id).where(User.active.is_(True), or_(*conditions)).order_by(User.id)
    return list(db.session.execute(query).scalars())


def notify(
    kind: str,
    title: str,
    body: str,
    *,
    roles: Sequence[str] = (),
    user_ids: Sequence[int] = (),
    entity_type: str | None = None,
    entity_id: Any = None,
) -> list[int]:
    """Tell people about something, inside the caller's transaction (never commits).

    One Notification row per active recipient (roles are resolved to their users at this moment);
    the e-mail job is enqueued after the caller commits and is dropped if it rolls back.
    Returns the new notification ids.
    """
    rows = [
        Notification(
            user_id=user_id,
            kind=kind,
            title=title[:200],
            body=body,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id),
        )
        for user_id in recipients(roles, user_ids)
    ]
    if not rows:
        return []
    db.session.add_all(rows)
    db.session.flush()
    ids = [int(n.id) for n in rows]
    from app.notifications.jobs import send_notification_emails

    enqueue_after_commit(send_notification_emails, ids)
    return ids


# --- reading and marking read ---------------------------------------------------------------------
def list_for_user(user_id: int, *, limit: int = 100, unread_only: bool = False) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return list(db.session.execute(query).scalars())


def unread_count(user_id: int) -> int:
    from sqlalchemy import func

    query = select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    return db.session.execute(query).scalar_one()


def mark_read(user_id: int, notification_ids: Iterable[int] | None = None) -> int:
    """A user marks their own notifications read (all unread when no ids are given); commits.

    Rule: only the recipient can mark a notification read; ids of other users' notifications are
    ignored rather than reported, so the page cannot be used to probe them.
    """
    query = (
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=db.func.now())
    )
    if notification_ids is not None:
        query = query.where(Notification.id.in_([int(i) for i in notification_ids]))
    changed = db.session.execute(query).rowcount
    db.session.commit()
    return changed


# --- e-mail senders -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class Sender(Protocol):
    transport: str

    def send(self, mail: Mail) -> None: ...


class OutboxSender:
    """Demo and tests: the e-mail is only kept in the outbox table (written by the job)."""

    transport = "outbox"

    def send(self, mail: Mail) -> None:
        return None


class LogSender:
    transport = "log"

    def send(self, mail: Mail) -> None:
        log.info("e-mail to %s: %s", mail.to, mail.subject)


class SmtpSender:
    transport = "smtp"

    def __init__(self, config: dict[str, Any]) -> None:
        self.host = config["MAIL_SERVER"]
        self.port = int(config.get("MAIL_PORT") or 587)
        self.use_tls = str(config.get("MAIL_USE_TLS", "1")).lower() in {"1", "true", "yes", "on"}
        self.username = config.get("MAIL_USERNAME") or None
        self.password = config.get("MAIL_PASSWORD") or None
        self.sender = config.get("MAIL_FROM") or "radiopharma@localhost"

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, mail.to, mail.subject
        message.set_content(mail.body)
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.use_tls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def _mail_config() -> dict[str, Any]:
    keys = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM")
    config = {k: current_app.config.get(k, os.environ.get(k)) for k in keys}
    config["MAIL_TRANSPORT"] = current_app.config.get("MAIL_TRANSPORT", os.environ.get("MAIL_TRANSPORT"))
    return config


_sender_override: Sender | None = None


def set_sender(sender: Sender | None) -> None:
    """Replace the e-mail sender (tests); None goes back to the configured one."""
    global _sender_override
    _sender_override = sender


def get_sender() -> Sender:
    if _sender_override is not None:
        return _sender_override
    config = _mail_config()
    if config.get("MAIL_SERVER"):
        return SmtpSender(config)
    if (config.get("MAIL_TRANSPORT") or "").lower() == "log":
        return LogSender()
    return OutboxSender()


# --- e-mail delivery (called by the job) ----------------------------------------------------------
def _claim(notification_ids: Sequence[int] | None, now: dt.datetime) -> list[Notification]:
    """Take pending notifications for sending, so two workers never mail the same one."""
    stale = now - STALE_CLAIM
    query = (
        select(Notification)
        .where(
            or_(
                Notification.email_status == EMAIL_PENDING,
                and_(Notification.email_status == EMAIL_SENDING, Notification.email_claimed_at < stale),
            )
        )
        .order_by(Notification.id)
        .with_for_update(skip_locked=True)
    )
    if notification_ids is not None:
        query = query.where(Notification.id.in_(list(notification_ids)))
    else:
        query = query.limit(500)
    claimed = list(db.session.execute(query).scalars())
    for n in claimed:
        n.email_status, n.email_claimed_at = EMAIL_SENDING, now
    return claimed


def _mail_for(n: Notification) -> Mail | None:
    """The e-mail for a notification, or None when it should not be sent any more (state re-checked)."""
    user = n.user
    if user is None or not user.active or not user.email:
        return None
    if n.read_at is not None:  # already seen in the app: an e-mail adds nothing
        return None
    app_name = current_app.config.get("APP_NAME", "RadioPharma")
    body = f"{n.body}\n\n-- \n{app_name}: sign in to see your notifications."
    return Mail(to=user.email, subject=f"[{app_name}] {n.title}", body=body)


def deliver_emails(
    notification_ids: Sequence[int] | None = None, *, now: dt.datetime | None = None
) -> dict[str, int]:
    """Send the e-mails of pending notifications (the given ids, or any pending when None).

    Rule: at most one e-mail per notification (claim, send outside any transaction, record); a
    notification that was read, or whose user left, is not e-mailed. Idempotent: running it again
    finds nothing pending.
    """
    now = now or dt.datetime.now(dt.UTC)
    claimed = _claim(notification_ids, now)
    plan = [(int(n.id), _mail_for(n)) for n in claimed]
    db.session.commit()  # claims are visible before any slow network I/O starts

    sender = get_sender()
    outcome: dict[int, tuple[str, str | None]] = {}
    for notification_id, mail in plan:
        if mail is None:
            outcome[notification_id] = (EMAIL_SKIPPED, None)
            continue
        try:
            sender.send(mail)
            outcome[notification_id] = (EMAIL_SENT, None)
        except Exception as exc:  # one bad address must not stop the others
            log.warning("e-mail for notification %s failed: %s", notification_id, exc)
            outcome[notification_id] = (EMAIL_FAILED, str(exc)[:300])

    mails = dict(plan)
    counts = {EMAIL_SENT: 0, EMAIL_SKIPPED: 0, EMAIL_FAILED: 0}
    for notification_id, (status, error) in outcome.items():
        values: dict[str, Any] = {"email_status": status, "email_error": error}
        if status == EMAIL_SENT:
            values["emailed_at"] = db.func.now()
            mail = mails[notification_id]
            assert mail is not None
            db.session.add(
                EmailOutbox(
                    notification_id=notification_id,
                    to_address=mail.to,
                    subject=mail.subject[:300],
                    body=mail.body,
                    transport=sender.transport,
                )
            )
        db.session.execute(update(Notification).where(Notification.id == notification_id).values(**values))
        counts[status] += 1
    db.session.commit()
    return {k.lower(): v for k, v in counts.items()}

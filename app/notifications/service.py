"""Notifications: in-app rows and e-mail outbox rows in the caller's transaction; sending after commit.

THE CALL FOR OTHER PARTS (issue 12):

    notify_event(event_type, record_url, variables, *, roles=None, customer_id=None,
                 user_ids=(), entity_type=None, entity_id=None) -> list[int]

    event_type   a code of app/notifications/events.py CATALOGUE (RESERVATION_HELD, ORDER_SUBMITTED,
                 BATCH_RELEASED, SHIPMENT_DISPATCHED, QC_FAILED, OOS_OPENED, RECALL, ...)
    record_url   the page of the record ("/batches/12"), linked from the bell list and the e-mail
    variables    the event's named variables ({"batch_no": "FDG-1", ...}); undeclared ones are ignored
    roles        internal roles told; None = the catalogue's default roles for the event
    customer_id  the record's hospital: its users are told too (only for events the catalogue marks
                 customer-facing); hospitals are never addressed by role ("Customer" is refused)

It renders the Admin-edited (else default) English or Arabic template per recipient's language,
writes one Notification per recipient and, for recipients who want this event by e-mail, one
EmailOutbox row, all inside the caller's transaction (never commits). The sending job is enqueued
after commit; the periodic sweep (app.notifications.jobs.send_pending_emails, every minute in the
worker) retries with backoff and picks up anything a lost job missed.

The older `notify(kind, title, body, roles=, user_ids=, entity_type=, entity_id=)` keeps working
(free text, same outbox and preferences).

Rule: a notification exists exactly when the business change that caused it committed, and each is
e-mailed at most once however often its job runs. E-mail goes through a pluggable sender: SMTP when
MAIL_SERVER is configured, otherwise it stays in the outbox table (demo, tests), or the log
(MAIL_TRANSPORT=log).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from flask import current_app, has_request_context, request
from flask_appbuilder.security.sqla.models import Role, User, assoc_user_role
from sqlalchemy import Select, and_, or_, select, update

from app.core.extensions import db
from app.core.jobs import enqueue_after_commit
from app.notifications import events
from app.notifications.models import (
    EMAIL_FAILED,
    EMAIL_PENDING,
    EMAIL_RETRYING,
    EMAIL_SENDING,
    EMAIL_SENT,
    EMAIL_SKIPPED,
    EmailDelivery,
    EmailOutbox,
    Notification,
    NotificationPreference,
    NotificationTemplate,
)

log = logging.getLogger(__name__)

# A claim older than this is taken to be from a worker that died mid-send; the mail is retried.
STALE_CLAIM = dt.timedelta(minutes=10)


# --- writing notifications ------------------------------------------------------------------------
# A lower part cannot import masterdata (above it): masterdata registers how to find a hospital's users.
_customer_users: Callable[[int], list[int]] | None = None


def register_customer_users(resolver: Callable[[int], list[int]]) -> None:
    """Called by masterdata at start-up: customer id -> ids of that hospital's user accounts."""
    global _customer_users
    _customer_users = resolver


def customer_user_ids(customer_id: int) -> list[int]:
    if _customer_users is None:  # fail loud: a hospital silently not told is worse than an error
        raise RuntimeError("no customer-users resolver registered (masterdata not loaded)")
    return list(_customer_users(int(customer_id)))


def recipients(roles: Iterable[str] = (), user_ids: Iterable[int] = ()) -> list[int]:
    """Active users holding any of `roles`, plus the active users among `user_ids` (no duplicates)."""
    return [uid for uid, _email in _recipients(roles, user_ids)]


def _recipients(roles: Iterable[str] = (), user_ids: Iterable[int] = ()) -> list[tuple[int, str | None]]:
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
    query = select(User.id, User.email).where(User.active.is_(True), or_(*conditions)).order_by(User.id)
    return [(int(i), e) for i, e in db.session.execute(query).all()]


@dataclass(frozen=True)
class Audience:
    """Recipients resolved once: (user id, e-mail) of each active user and their preferences."""

    people: list[tuple[int, str | None]]
    prefs: dict[int, NotificationPreference]


def audience(roles: Iterable[str] = (), user_ids: Iterable[int] | Any = ()) -> Audience:
    """The active users holding any of `roles` plus those among `user_ids` (ids, or a SELECT of ids),
    with their preferences, in one statement. Resolve it before taking a lock and pass it to
    `notify(..., audience=)`: the rows written are the same as when `notify` resolves them itself."""
    roles = list(roles)
    ids = user_ids if isinstance(user_ids, Select) else [int(u) for u in user_ids]
    if not roles and (not isinstance(ids, Select) and not ids):
        return Audience([], {})
    conditions = []
    if roles:
        conditions.append(
            User.id.in_(
                select(assoc_user_role.c.user_id)
                .join(Role, Role.id == assoc_user_role.c.role_id)
                .where(Role.name.in_(roles))
            )
        )
    if isinstance(ids, Select) or ids:
        conditions.append(User.id.in_(ids))
    query = (
        select(User.id, User.email, NotificationPreference)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(User.active.is_(True), or_(*conditions))
        .order_by(User.id)
    )
    rows = db.session.execute(query).all()
    return Audience([(int(i), e) for i, e, _p in rows], {int(i): p for i, _e, p in rows if p is not None})


def preferences_for(user_ids: Sequence[int]) -> dict[int, NotificationPreference]:
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(NotificationPreference).where(NotificationPreference.user_id.in_(list(user_ids)))
    ).scalars()
    return {int(p.user_id): p for p in rows}


def wants_email(pref: NotificationPreference | None, event_type: str) -> bool:
    if pref is None:
        return True
    return bool(pref.email_enabled) and event_type not in set(filter(None, (pref.email_off or "").split(",")))


def _write(
    kind: str,
    people: list[tuple[int, str | None]],
    wording: Callable[[str], tuple[str, str]],
    *,
    entity_type: str | None,
    entity_id: Any,
    record_url: str | None,
    prefs: dict[int, NotificationPreference] | None = None,
) -> list[int]:
    """One Notification per recipient (and an outbox row when they want it by e-mail); enqueue the job."""
    if not people:
        return []
    if prefs is None:
        prefs = preferences_for([uid for uid, _ in people])
    pairs: list[tuple[Notification, EmailOutbox | None]] = []
    for user_id, email in people:
        pref = prefs.get(user_id)
        language = pref.language if pref is not None else "en"
        title, body = wording(language)
        n = Notification(
            user_id=user_id,
            kind=kind,
            title=title[:200],
            body=body,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id),
            record_url=record_url,
            language=language,
        )
        mail = None
        if email and wants_email(pref, kind):
            mail = EmailOutbox(
                to_address=email, subject=title[:300], body=body, event_type=kind, status=EMAIL_PENDING
            )
        else:
            n.email_status = EMAIL_SKIPPED
        pairs.append((n, mail))
    db.session.add_all([n for n, _ in pairs])
    db.session.flush()
    for n, mail in pairs:
        if mail is not None:
            mail.notification_id = n.id
            db.session.add(mail)
    db.session.flush()
    ids = [int(n.id) for n, _ in pairs]
    mailed = [int(n.id) for n, m in pairs if m is not None]
    if mailed:
        from app.notifications.jobs import send_notification_emails

        enqueue_after_commit(send_notification_emails, mailed)
    return ids


def notify(
    kind: str,
    title: str,
    body: str,
    *,
    roles: Sequence[str] = (),
    user_ids: Sequence[int] = (),
    entity_type: str | None = None,
    entity_id: Any = None,
    record_url: str | None = None,
    audience: Audience | None = None,
) -> list[int]:
    """Tell people about something in free text, inside the caller's transaction (never commits).

    One Notification row per active recipient (roles are resolved to their users at this moment, or
    taken from `audience` resolved earlier in the transaction, then `roles`/`user_ids` are ignored) and
    an outbox row for those who take `kind` by e-mail; the e-mail job is enqueued after the caller
    commits and is dropped if it rolls back. Returns the new notification ids. Prefer `notify_event`.
    """
    if audience is None:
        audience = Audience(_recipients(roles, user_ids), {})
        prefs = None
    else:
        prefs = audience.prefs
    return _write(
        kind,
        audience.people,
        lambda _language: (title, body),
        entity_type=entity_type,
        entity_id=entity_id,
        record_url=record_url,
        prefs=prefs,
    )


def template_text(event_type: str) -> dict[str, tuple[str, str]]:
    """language -> (subject, body) for an event: Admin's saved wording, else the catalogue default."""
    ev = events.CATALOGUE[event_type]
    text = {lang: (ev.subject[lang], ev.body[lang]) for lang in events.LANGUAGES}
    saved = db.session.execute(
        select(NotificationTemplate).where(NotificationTemplate.event_type == event_type)
    ).scalars()
    for t in saved:
        text[t.language] = (t.subject, t.body)
    return text


def notify_event(
    event_type: str,
    record_url: str | None,
    variables: Mapping[str, Any],
    *,
    roles: Sequence[str] | None = None,
    customer_id: int | None = None,
    user_ids: Sequence[int] = (),
    entity_type: str | None = None,
    entity_id: Any = None,
) -> list[int]:
    """Tell the people an event concerns, in their language, inside the caller's transaction.

    Rule: recipients are the event's roles (catalogue default unless given) plus, for customer-facing
    events, the users of `customer_id` only: a hospital hears of its own records and never of
    another's, and is never addressed by role. Never commits; e-mail goes after commit.
    """
    ev = events.event(event_type)
    if ev is None:
        raise ValueError(f"unknown notification event type {event_type!r}")
    roles = ev.roles if roles is None else tuple(roles)
    if "Customer" in roles:
        raise ValueError("hospitals are told through customer_id, never by role")
    people_ids = list(user_ids)
    if customer_id is not None and ev.customer:
        people_ids += customer_user_ids(customer_id)
    text = template_text(event_type)

    def wording(language: str) -> tuple[str, str]:
        subject, body = text[language]
        return events.render(subject, variables), events.render(body, variables)

    return _write(
        event_type,
        _recipients(roles, people_ids),
        wording,
        entity_type=entity_type,
        entity_id=entity_id,
        record_url=record_url,
    )


# --- reading and marking read ---------------------------------------------------------------------
def list_for_user(user_id: int, *, limit: int = 100, unread_only: bool = False) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return list(db.session.execute(query).scalars())


def own_notification(user_id: int, notification_id: int) -> Notification | None:
    """One of the user's own notifications (None for anybody else's)."""
    n = db.session.get(Notification, notification_id)
    return n if n is not None and n.user_id == user_id else None


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
MAX_ATTEMPTS = 5
# delay before attempt n+1 after n failures (1 min, 5 min, 15 min, 1 h)
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=15), dt.timedelta(hours=1))


def backoff(failures: int) -> dt.timedelta:
    return BACKOFF[min(failures, len(BACKOFF)) - 1]


def _claim(notification_ids: Sequence[int] | None, now: dt.datetime) -> list[EmailOutbox]:
    """Take due outbox rows for sending, so two workers never mail the same one."""
    stale = now - STALE_CLAIM
    query = (
        select(EmailOutbox)
        .where(
            or_(
                and_(
                    EmailOutbox.status.in_((EMAIL_PENDING, EMAIL_RETRYING)),
                    EmailOutbox.next_attempt_at <= now,
                ),
                and_(EmailOutbox.status == EMAIL_SENDING, EmailOutbox.claimed_at < stale),
            )
        )
        .order_by(EmailOutbox.id)
        .with_for_update(skip_locked=True)
    )
    if notification_ids is not None:
        query = query.where(EmailOutbox.notification_id.in_(list(notification_ids)))
    else:
        query = query.limit(500)
    claimed = list(db.session.execute(query).scalars())
    for o in claimed:
        o.status, o.claimed_at = EMAIL_SENDING, now
    return claimed


def _mail_for(o: EmailOutbox) -> Mail | None:
    """The e-mail for an outbox row, or None when it should not be sent any more (state re-checked)."""
    n = db.session.get(Notification, o.notification_id) if o.notification_id else None
    if n is not None:
        user = n.user
        if user is None or not user.active or not user.email:
            return None
        if n.read_at is not None:  # already seen in the app: an e-mail adds nothing
            return None
    app_name = current_app.config.get("APP_NAME", "RadioPharma")
    body = o.body
    if n is not None and n.record_url:
        body += f"\n\n{_absolute(n.record_url)}"
    body += f"\n\n-- \n{app_name}: sign in to see your notifications."
    return Mail(to=o.to_address, subject=f"[{app_name}] {o.subject}", body=body)


DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def public_base_url() -> str:
    """PUBLIC_BASE_URL when configured; else the address the current request came in on; else (the
    RQ worker, a CLI) the development server's address."""
    configured = (current_app.config.get("PUBLIC_BASE_URL") or "").strip()
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return DEFAULT_BASE_URL


def _absolute(url: str) -> str:
    return f"{public_base_url()}{url}" if url.startswith("/") else url


def deliver_emails(
    notification_ids: Sequence[int] | None = None, *, now: dt.datetime | None = None
) -> dict[str, int]:
    """Send the due outbox e-mails (of the given notifications, or any due when None).

    Rule: at most one e-mail per notification (claim, send outside any transaction, record); a
    notification that was read, or whose user left, is not e-mailed; a failed send is retried after
    a growing delay up to MAX_ATTEMPTS, then marked FAILED with the error. Every attempt is logged.
    Idempotent: running it again finds nothing due.
    """
    now = now or dt.datetime.now(dt.UTC)
    claimed = _claim(notification_ids, now)
    plan = [(int(o.id), o.notification_id, int(o.attempts or 0), _mail_for(o)) for o in claimed]
    db.session.commit()  # claims are visible before any slow network I/O starts

    sender = get_sender()
    counts = {EMAIL_SENT: 0, EMAIL_SKIPPED: 0, EMAIL_FAILED: 0, EMAIL_RETRYING: 0}
    results = []
    for outbox_id, notification_id, attempts, mail in plan:
        error = None
        if mail is None:
            status = EMAIL_SKIPPED
        else:
            try:
                sender.send(mail)
                status = EMAIL_SENT
            except Exception as exc:  # one bad address must not stop the others
                log.warning("e-mail %s failed: %s", outbox_id, exc)
                error = (str(exc) or type(exc).__name__)[:300]
                status = EMAIL_RETRYING if attempts + 1 < MAX_ATTEMPTS else EMAIL_FAILED
        results.append((outbox_id, notification_id, attempts, status, error))

    for outbox_id, notification_id, attempts, status, error in results:
        tried = status != EMAIL_SKIPPED
        values: dict[str, Any] = {"status": status, "last_error": error, "claimed_at": None}
        if tried:
            values["attempts"] = attempts + 1
            values["transport"] = sender.transport
        if status == EMAIL_SENT:
            values["sent_at"] = now
        if status == EMAIL_RETRYING:
            values["next_attempt_at"] = now + backoff(attempts + 1)
        db.session.execute(update(EmailOutbox).where(EmailOutbox.id == outbox_id).values(**values))
        db.session.add(
            EmailDelivery(
                outbox_id=outbox_id,
                attempt=attempts + 1 if tried else attempts,
                attempted_at=now,
                outcome=status,
                transport=sender.transport if tried else None,
                error=error,
            )
        )
        if notification_id is not None:
            n_values: dict[str, Any] = {"email_status": status, "email_error": error}
            if status == EMAIL_SENT:
                n_values["emailed_at"] = now
            db.session.execute(
                update(Notification).where(Notification.id == notification_id).values(**n_values)
            )
        counts[status] += 1
    db.session.commit()
    return {k.lower(): v for k, v in counts.items()}

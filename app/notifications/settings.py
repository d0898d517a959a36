"""Business acts on notification settings: Admin's templates per event type and language, and each
user's own preferences (language, which event types by e-mail). Each function commits once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.audit import service as audit
from app.core.actor import Actor
from app.core.domain import ValidationFailed
from app.core.extensions import db
from app.notifications import events
from app.notifications.models import NotificationPreference, NotificationTemplate

SUBJECT_MAX = 200
BODY_MAX = 4000


def save_template(
    event_type: str, language: str, subject: str, body: str, actor: Actor
) -> NotificationTemplate:
    """Admin rewords one event type in one language.

    Rule: only the variables the event declares may appear (an unknown one is refused, never saved);
    subject and body are required and bounded; every change is audited with before and after.
    """
    ev = events.event(event_type)
    if ev is None or language not in events.LANGUAGES:
        raise ValidationFailed("Unknown event type or language.")
    subject, body = (subject or "").strip(), (body or "").strip()
    errors: dict[str, list[str]] = {}
    for field, value, limit in (("subject", subject, SUBJECT_MAX), ("body", body, BODY_MAX)):
        if not value:
            errors.setdefault(field, []).append("Required.")
        elif len(value) > limit:
            errors.setdefault(field, []).append(f"At most {limit} characters (this is {len(value)}).")
        unknown = events.unknown_variables(value, ev.variables)
        if unknown:
            errors.setdefault(field, []).append(
                "Unknown variable(s): "
                + ", ".join("{" + u + "}" for u in unknown)
                + ". Allowed: "
                + ", ".join("{" + v + "}" for v in ev.variables)
                + "."
            )
    if errors:
        raise ValidationFailed(
            "The template was not saved: " + " ".join(sum(errors.values(), [])), fields=errors
        )
    try:
        row = db.session.execute(
            select(NotificationTemplate)
            .where(NotificationTemplate.event_type == event_type, NotificationTemplate.language == language)
            .with_for_update()
        ).scalar_one_or_none()
        before = {"subject": ev.subject[language], "body": ev.body[language], "default": True}
        if row is None:
            row = NotificationTemplate(event_type=event_type, language=language)
            db.session.add(row)
        else:
            before = {"subject": row.subject, "body": row.body}
        row.subject, row.body = subject, body
        row.updated_at, row.updated_by_id = dt.datetime.now(dt.UTC), actor.user_id
        db.session.flush()
        audit.record(
            "NotificationTemplate",
            f"{event_type}/{language}",
            "UPDATE",
            before=before,
            after={"subject": subject, "body": body},
            actor=actor,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def save_preferences(user_id: int, language: str, email_events: set[str], email_enabled: bool) -> None:
    """A user chooses their language and which event types reach them by e-mail (their own only)."""
    if language not in events.LANGUAGES:
        raise ValidationFailed("Choose English or Arabic.")
    unknown = email_events - set(events.CATALOGUE)
    if unknown:
        raise ValidationFailed("Unknown event type(s): " + ", ".join(sorted(unknown)))
    try:
        pref = db.session.get(NotificationPreference, user_id, with_for_update=True)
        if pref is None:
            pref = NotificationPreference(user_id=user_id)
            db.session.add(pref)
        pref.language = language
        pref.email_enabled = email_enabled
        pref.email_off = ",".join(sorted(set(events.CATALOGUE) - email_events))
        pref.updated_at = dt.datetime.now(dt.UTC)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise

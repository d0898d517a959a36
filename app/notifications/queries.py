"""Read side of notifications: the template overview, the delivery log, the events a user can get."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.core.extensions import db
from app.notifications import events
from app.notifications.models import EmailDelivery, EmailOutbox, NotificationTemplate


def template_overview() -> list[dict[str, Any]]:
    """Every event type with its recipients and, per language, whether Admin changed the wording."""
    saved = {
        (t.event_type, t.language): t for t in db.session.execute(select(NotificationTemplate)).scalars()
    }
    rows = []
    for code, ev in events.CATALOGUE.items():
        per_lang = {}
        for lang in events.LANGUAGES:
            t = saved.get((code, lang))
            per_lang[lang] = {
                "subject": t.subject if t else ev.subject[lang],
                "custom": t is not None,
                "updated_at": t.updated_at if t else None,
            }
        rows.append({"event": ev, "languages": per_lang})
    return rows


def events_for_roles(roles: list[str]) -> list[events.EventType]:
    """The event types a user with these roles can receive (all of them for Admin)."""
    if "Admin" in roles:
        return list(events.CATALOGUE.values())
    customer = "Customer" in roles
    return [e for e in events.CATALOGUE.values() if set(e.roles) & set(roles) or (customer and e.customer)]


def delivery_log(status: str | None = None, limit: int = 300) -> list[dict[str, Any]]:
    query = (
        select(EmailDelivery, EmailOutbox)
        .join(EmailOutbox, EmailOutbox.id == EmailDelivery.outbox_id)
        .order_by(EmailDelivery.attempted_at.desc(), EmailDelivery.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(EmailDelivery.outcome == status)
    return [{"attempt": d, "mail": o} for d, o in db.session.execute(query).all()]


def outbox_counts() -> dict[str, int]:
    rows = db.session.execute(select(EmailOutbox.status, func.count()).group_by(EmailOutbox.status)).all()
    return {str(s): int(n) for s, n in rows}

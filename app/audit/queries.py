"""Reading the audit trail: filters for the audit viewer, CSV export, chain status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select

from app.audit.models import AuditLog, AuditVerification
from app.audit.service import diff
from app.core.domain import ValidationFailed
from app.core.exports import csv_stream
from app.core.extensions import db

FILTER_FIELDS = ("entity_type", "entity_id", "actor", "action", "date_from", "date_to", "trace_id")
CSV_COLUMNS = (
    "id",
    "occurred_at_utc",
    "entity_type",
    "entity_id",
    "action",
    "actor_user_id",
    "actor_name",
    "actor_roles",
    "reason",
    "changes",
    "trace_id",
    "client_ip",
    "signature_id",
    "prev_hash",
    "hash",
)


@dataclass
class AuditFilters:
    entity_type: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    trace_id: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def active(self) -> dict[str, str]:
        return {k: str(getattr(self, k)) for k in FILTER_FIELDS if getattr(self, k)}


def parse_filters(args: dict[str, Any]) -> AuditFilters:
    """Read filters from query parameters; bad dates are refused with a clear message."""
    f = AuditFilters()
    for name in ("entity_type", "entity_id", "actor", "action", "trace_id"):
        value = (args.get(name) or "").strip()
        setattr(f, name, value[:200] or None)
    for name in ("date_from", "date_to"):
        raw = (args.get(name) or "").strip()
        if not raw:
            continue
        try:
            setattr(f, name, dt.date.fromisoformat(raw))
        except ValueError:
            f.errors[name] = "Use a date like 2026-11-22."
    if f.date_from and f.date_to and f.date_from > f.date_to:
        f.errors["date_to"] = "The end date is before the start date."
    if f.errors:
        raise ValidationFailed("Some filters are not valid: " + "; ".join(f.errors.values()), f.errors)
    return f


def _query(f: AuditFilters, tz: ZoneInfo) -> Select:
    q = select(AuditLog)
    if f.entity_type:
        q = q.where(AuditLog.entity_type == f.entity_type)
    if f.entity_id:
        q = q.where(AuditLog.entity_id == f.entity_id)
    if f.action:
        q = q.where(AuditLog.action == f.action)
    if f.trace_id:
        q = q.where(AuditLog.trace_id == f.trace_id)
    if f.actor:
        like = f"%{f.actor}%"
        q = q.where(or_(AuditLog.actor_name.ilike(like), AuditLog.actor_roles.ilike(like)))
    # Dates are the site's local calendar days, converted to UTC bounds.
    if f.date_from:
        q = q.where(AuditLog.occurred_at >= dt.datetime.combine(f.date_from, dt.time(), tz))
    if f.date_to:
        end = dt.datetime.combine(f.date_to + dt.timedelta(days=1), dt.time(), tz)
        q = q.where(AuditLog.occurred_at < end)
    return q


def search(f: AuditFilters, tz: ZoneInfo, page: int = 1, page_size: int = 50) -> tuple[list[AuditLog], int]:
    q = _query(f, tz)
    total = db.session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = (
        db.session.execute(q.order_by(AuditLog.id.desc()).offset((page - 1) * page_size).limit(page_size))
        .scalars()
        .all()
    )
    return list(rows), total


def choices() -> dict[str, list[str]]:
    """Distinct entity types and actions, for the filter drop-downs."""
    types = db.session.execute(select(AuditLog.entity_type).distinct().order_by(AuditLog.entity_type))
    actions = db.session.execute(select(AuditLog.action).distinct().order_by(AuditLog.action))
    return {"entity_types": list(types.scalars()), "actions": list(actions.scalars())}


def changes(row: AuditLog) -> list[tuple[str, Any, Any]]:
    """Before/after as a readable list of (field, before, after); creations list every field."""
    if row.before is None and row.after is None:
        return []
    if isinstance(row.before, dict) or isinstance(row.after, dict):
        before = row.before if isinstance(row.before, dict) else {}
        after = row.after if isinstance(row.after, dict) else {}
        return [(k, v[0], v[1]) for k, v in diff(before, after).items()]
    return [("value", row.before, row.after)]


def display_value(value: Any, limit: int = 140) -> str:
    """A before/after value as short readable text (lists joined, long text cut with an ellipsis)."""
    if value is None:
        return "—"
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value) or "(none)"
    elif isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def export_csv(f: AuditFilters, tz: ZoneInfo) -> Iterator[str]:
    """Stream matching rows as CSV (oldest first), in chunks, for inspectors' spreadsheets."""
    q = _query(f, tz).order_by(AuditLog.id).execution_options(yield_per=2000)
    rows = (
        [
            row.id,
            row.occurred_at.astimezone(dt.UTC).isoformat(),
            row.entity_type,
            row.entity_id,
            row.action,
            row.actor_user_id,
            row.actor_name,
            row.actor_roles,
            row.reason or "",
            "; ".join(f"{k}: {b!r} -> {a!r}" for k, b, a in changes(row)),
            row.trace_id or "",
            row.client_ip or "",
            row.signature_id or "",
            row.prev_hash or "",
            row.hash or "",
        ]
        for row in db.session.execute(q).scalars()
    )
    return csv_stream(CSV_COLUMNS, rows)


def latest_verification() -> AuditVerification | None:
    return db.session.execute(
        select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1)
    ).scalar_one_or_none()

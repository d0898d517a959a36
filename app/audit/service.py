"""Writing and verifying the audit trail.

`record()` adds one row to the caller's transaction (never commits): the audit row and the change it
describes commit or roll back together. The database trigger computes id, timestamp and hash chain.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, text

from app.audit.models import AuditLog, AuditVerification
from app.core.actor import Actor, current_actor
from app.core.extensions import db
from app.core.tracing import client_ip, current_trace_id


def jsonable(value: Any) -> Any:
    """Make a before/after snapshot JSON-safe with stable, readable representations."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def snapshot(obj: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Column values of a model instance, for before/after JSON."""
    return {c.key: jsonable(getattr(obj, c.key)) for c in obj.__mapper__.column_attrs if c.key not in exclude}


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Fields that changed: {field: [before, after]}."""
    before, after = before or {}, after or {}
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def record(
    entity_type: str,
    entity_id: Any,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    actor: Actor | None = None,
    signature_id: int | None = None,
    trace_id: str | None = None,
) -> int:
    """Append one audit row inside the current transaction and return its id."""
    actor = actor or current_actor()
    values = {
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "action": action,
        "actor_user_id": actor.user_id,
        "actor_name": actor.printed_name,
        "actor_roles": actor.roles_text,
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None,
        "reason": reason,
        "trace_id": trace_id or current_trace_id(),
        "client_ip": client_ip(),
        "signature_id": signature_id,
    }
    session = db.session()
    if session.autoflush and not session._flushing:  # pending ORM rows first (e.g. a signature)
        session.flush()
    return session.execute(_INSERT, values).scalar_one()


# One Core statement compiled once: the ORM-enabled insert().values(...) was rebuilt and re-keyed
# for every row, which cost more than the database's own work for the row.
_INSERT = insert(AuditLog.__table__).returning(AuditLog.__table__.c.id)


# The verification recomputes every hash with the same SQL function the trigger uses and checks each
# row's prev_hash against its predecessor's hash, in id order, in one streaming pass inside
# PostgreSQL that returns only the first broken entry. The hash is computed below the window
# (OFFSET 0 keeps the planner from moving it up), so the window only carries narrow rows instead of
# buffering whole rows. Fetching every row into Python to compare there ran at about 45,000 rows/s
# (see bench/audit.py for today's figure).
_VERIFY_SQL = text(
    """
    SELECT count(*) AS entries,
           max(id) AS head_id,
           min(id) FILTER (WHERE unlinked) AS first_unlinked,
           min(id) FILTER (WHERE altered) AS first_altered
      FROM (SELECT id, altered,
                   prev_hash IS DISTINCT FROM lag(hash) OVER (ORDER BY id) AS unlinked
              FROM (SELECT id, prev_hash, hash,
                           hash IS DISTINCT FROM audit_log_row_hash(prev_hash, a) AS altered
                      FROM audit_log a
                     ORDER BY id
                    OFFSET 0) hashed) chain
    """
)


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    first_broken_id: int | None
    message: str
    head_id: int | None
    head_hash: str | None


def _hash_of(entry_id: int | None) -> str | None:
    if entry_id is None:
        return None
    return db.session.execute(select(AuditLog.hash).where(AuditLog.id == entry_id)).scalar()


def _entries_up_to(entry_id: int) -> int:
    return db.session.execute(
        text("SELECT count(*) FROM audit_log WHERE id <= :id"), {"id": entry_id}
    ).scalar_one()


def verify_chain() -> VerifyResult:
    """Walk the chain; report the first broken entry (edited, deleted, inserted or reordered)."""
    anchor = db.session.execute(
        select(AuditVerification.head_id, AuditVerification.head_hash)
        .where(AuditVerification.ok.is_(True), AuditVerification.head_id.is_not(None))
        .order_by(AuditVerification.id.desc())
        .limit(1)
    ).first()
    scan = db.session.execute(_VERIFY_SQL).one()
    problems: list[tuple[int, str]] = []
    if scan.first_unlinked is not None:
        problems.append(
            (
                scan.first_unlinked,
                f"Entry {scan.first_unlinked} does not follow the entry before it "
                "(an entry was deleted, inserted or reordered).",
            )
        )
    if scan.first_altered is not None and scan.first_altered != scan.first_unlinked:
        problems.append(
            (
                scan.first_altered,
                f"Entry {scan.first_altered} was altered after it was written (hash mismatch).",
            )
        )
    if anchor is not None:
        # The head seen by the last good verification must still be there, unchanged: this catches
        # a deleted tail and a rewrite that recomputed every later hash.
        anchor_hash = _hash_of(anchor.head_id)
        if anchor_hash is None:
            problems.append(
                (anchor.head_id, f"Entry {anchor.head_id}, the head at the last verification, is missing.")
            )
        elif anchor_hash != anchor.head_hash:
            problems.append(
                (
                    anchor.head_id,
                    f"Entry {anchor.head_id} differs from the head seen by the last verification.",
                )
            )
    head_hash = _hash_of(scan.head_id)
    if problems:
        broken_id, message = min(problems, key=lambda p: p[0])
        return VerifyResult(False, _entries_up_to(broken_id), broken_id, message, scan.head_id, head_hash)
    return VerifyResult(True, scan.entries, None, f"OK {scan.entries} entries", scan.head_id, head_hash)


def verify_and_log(triggered_by: str) -> VerifyResult:
    """Verify the chain and keep the outcome (shown in the audit viewer; anchors the next run)."""
    result = verify_chain()
    db.session.add(
        AuditVerification(
            ok=result.ok,
            entries=result.entries,
            head_id=result.head_id if result.ok else None,
            head_hash=result.head_hash if result.ok else None,
            first_broken_id=result.first_broken_id,
            message=result.message,
            triggered_by=triggered_by,
        )
    )
    db.session.commit()
    return result

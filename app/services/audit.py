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

from app.extensions import db
from app.models.audit import AuditLog, AuditVerification
from app.services.actor import Actor, current_actor
from app.tracing import client_ip, current_trace_id


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
    return db.session.execute(insert(AuditLog).values(**values).returning(AuditLog.id)).scalar_one()


# The verification query recomputes every hash with the same SQL function the trigger uses and
# checks each row's prev_hash against its predecessor's hash, in id order.
_VERIFY_SQL = text(
    """
    SELECT id, prev_hash, hash,
           audit_log_row_hash(prev_hash, a) AS expected,
           lag(hash) OVER (ORDER BY id) AS previous
      FROM audit_log a
     ORDER BY id
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


def verify_chain() -> VerifyResult:
    """Walk the chain; report the first broken entry (edited, deleted, inserted or reordered)."""
    anchor = db.session.execute(
        select(AuditVerification.head_id, AuditVerification.head_hash)
        .where(AuditVerification.ok.is_(True), AuditVerification.head_id.is_not(None))
        .order_by(AuditVerification.id.desc())
        .limit(1)
    ).first()
    count = 0
    head_id = head_hash = None
    anchor_seen = anchor is None
    result = None
    rows = db.session.execute(_VERIFY_SQL.execution_options(stream_results=True, yield_per=5000))
    try:
        for row in rows:
            count += 1
            head_id, head_hash = row.id, row.hash
            expected_prev = row.previous if count > 1 else None
            if row.prev_hash != expected_prev:
                result = (
                    row.id,
                    f"Entry {row.id} does not follow the entry before it "
                    "(an entry was deleted, inserted or reordered).",
                )
                break
            if row.hash != row.expected:
                result = (row.id, f"Entry {row.id} was altered after it was written (hash mismatch).")
                break
            if anchor is not None and row.id == anchor.head_id:
                if row.hash != anchor.head_hash:
                    result = (row.id, f"Entry {row.id} differs from the head seen by the last verification.")
                    break
                anchor_seen = True
    finally:
        rows.close()
    if result is None and not anchor_seen:
        result = (anchor.head_id, f"Entry {anchor.head_id}, the head at the last verification, is missing.")
    if result:
        return VerifyResult(False, count, result[0], result[1], head_id, head_hash)
    return VerifyResult(True, count, None, f"OK {count} entries", head_id, head_hash)


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

"""Writing and verifying the audit trail.

`record()` adds one row to the caller's transaction (never commits): the audit row and the change it
describes commit or roll back together. The chain (ids, links, HMAC) is computed here under the
chain lock (app.audit.chain); covered GMP rows are sealed by a flush hook, or by the service that
wrote them (`record(sealed=...)`; app.audit.coverage). The rows of one call go in one INSERT.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, text

from app.audit import anchors, chain, coverage
from app.audit.models import AuditLog, AuditVerification
from app.core import clock, sql
from app.core.actor import SYSTEM, Actor, current_actor
from app.core.extensions import db
from app.core.tracing import client_ip, current_trace_id

_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Make a before/after snapshot JSON-safe with stable, readable representations."""
    if type(value) in _PLAIN:  # most values of a snapshot, as they are
        return value
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
    sealed: Sequence[tuple[str, int, str]] = (),
) -> int:
    """Append one audit row inside the current transaction and return its id.

    `sealed`: covered GMP rows the caller wrote itself, outside the ORM's flush, as (table, id,
    row_to_json text read in the statement that wrote them); their SEALED entries go before this
    row, in the same INSERT (app.audit.coverage)."""
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
    seals = [coverage.seal_values(table, row_id, row_json) for table, row_id, row_json in sealed]
    return append_entries(session, [*seals, values])[-1]


def append_entry(session: Any, values: dict[str, Any]) -> int:
    """Chain and insert one row (see `append_entries`)."""
    return append_entries(session, [values])[0]


def append_entries(session: Any, entries: list[dict[str, Any]]) -> list[int]:
    """Chain and insert rows, in one statement: ids and links assigned under the chain lock (each
    row extends the one before it), HMACs computed here.

    The first HMAC entry of a database is CHAIN_UPGRADED: it closes the legacy database-hash part
    and covers the append-only GMP rows written before (see app.audit.coverage)."""
    if not entries:
        return []
    key = chain.hmac_key()
    conn = session.connection()
    entry_id, prev_hash, hmac_head = chain.next_link(session, conn)
    if not hmac_head:
        upgrade = {
            "entity_type": "AuditTrail",
            "entity_id": None,
            "action": coverage.UPGRADED,
            "after": {"tables": coverage.baseline(conn), "legacy_head_id": entry_id - 1},
        }
        _insert(session, conn, key, [_defaults(upgrade)], entry_id, prev_hash)
        entry_id, prev_hash, _ = chain.next_link(session, conn)
    return _insert(session, conn, key, [_defaults(v) for v in entries], entry_id, prev_hash)


def _defaults(values: dict[str, Any]) -> dict[str, Any]:
    if "actor_name" in values:
        return values
    actor = current_actor()
    return {
        "before": None,
        "reason": None,
        "signature_id": None,
        **values,
        "actor_user_id": actor.user_id,
        "actor_name": actor.printed_name,
        "actor_roles": actor.roles_text,
        "trace_id": current_trace_id(),
        "client_ip": client_ip(),
    }


def _insert(
    session: Any, conn: Any, key: bytes, entries: list[dict[str, Any]], entry_id: int, prev_hash: str | None
) -> list[int]:
    rows = []
    for values in entries:
        # app.core.clock: the real time, or the story's time while the demo seed tells a past day
        row = {**values, "id": entry_id, "occurred_at": clock.now(), "prev_hash": prev_hash}
        row["hash"] = chain.row_hmac(key, row)
        row["hash_alg"] = chain.HMAC_ALG
        rows.append(row)
        entry_id, prev_hash = entry_id + 1, row["hash"]
    # One statement for up to _MANY rows: the chain trigger checks each row against the rows before it
    # (those of the same statement included). Sent through the lean executor (app.core.sql): the
    # statement is compiled once per row count and its JSONB values are bound as SQLAlchemy binds them.
    for start in range(0, len(rows), _MANY):
        chunk = rows[start : start + _MANY]
        count = len(chunk)
        sql.execute(
            ("audit.insert", count),
            functools.partial(_insert_many, count),
            _many_params(chunk),
            connection=conn,
        )
    chain.advance(session, rows[-1]["id"], rows[-1]["hash"])
    return [row["id"] for row in rows]


_COLUMNS = (*chain.FIELDS, "hash", "hash_alg")
_MANY = 50  # rows per multi-row INSERT (a statement per row count is kept; 17 parameters a row)


@functools.cache
def _insert_many(count: int) -> Any:
    """INSERT of `count` rows in one VALUES list (parameters named column_0, column_1 ...); text,
    because SQLAlchemy compiles a multi-row insert().values([...]) again on every execution."""
    table = AuditLog.__table__
    rows = ", ".join("(" + ", ".join(f":{c}_{i}" for c in _COLUMNS) + ")" for i in range(count))
    return text(f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES {rows}").bindparams(
        *(bindparam(f"{c}_{i}", type_=table.c[c].type) for i in range(count) for c in _COLUMNS)
    )


def _many_params(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {f"{c}_{i}": row[c] for i, row in enumerate(rows) for c in _COLUMNS}


# Verification reads the trail once, in id order, streaming, and recomputes every hash here: the HMAC
# with the application's key, and for the legacy part the database's old SHA-256 from a canonical text
# built with pinned built-ins (a replaced hash function in the database changes nothing).
_CHAIN_SQL = text(
    f"""
    SELECT a.id, a.occurred_at, a.entity_type, a.entity_id, a.action, a.actor_user_id, a.actor_name,
           a.actor_roles, a.before, a.after, a.reason, a.trace_id, a.client_ip, a.signature_id,
           a.prev_hash, a.hash, a.hash_alg,
           CASE WHEN a.hash_alg IS NULL THEN {chain.LEGACY_CANONICAL_SQL} END AS legacy_text
      FROM audit_log a
     ORDER BY a.id
    """
).execution_options(stream_results=True, yield_per=2000)


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    first_broken_id: int | None
    message: str
    head_id: int | None
    head_hash: str | None
    boundary_id: int | None = None


@dataclass
class _Scan:
    entries: int = 0
    head_id: int | None = None
    head_hash: str | None = None
    boundary_id: int | None = None
    upgrade: Any = None
    broken: tuple[int, str] | None = None
    verified_ids: set[int] = field(default_factory=set)


def _scan_chain(key: bytes) -> _Scan:
    scan = _Scan()
    rows = db.session.execute(_CHAIN_SQL)
    try:
        _walk(rows, scan, key)
    finally:
        rows.close()  # a break leaves the server-side cursor open otherwise
    return scan


def _walk(rows: Any, scan: _Scan, key: bytes) -> None:
    for row in rows:
        if row.prev_hash != scan.head_hash:
            scan.broken = (
                row.id,
                f"Entry {row.id} does not follow the entry before it (an entry was deleted, inserted or reordered).",
            )
            break
        if row.hash_alg == chain.HMAC_ALG:
            if scan.boundary_id is None:
                scan.boundary_id = row.id
            expected = chain.row_hmac(key, row._asdict())
        elif row.hash_alg is None and scan.boundary_id is None:
            expected = chain.legacy_hash(row.prev_hash, row.legacy_text)
        else:
            scan.broken = (
                row.id,
                f"Entry {row.id} is not signed with the audit key (a database hash inside the HMAC part).",
            )
            break
        if not hmac.compare_digest(expected, row.hash or ""):
            scan.broken = (row.id, f"Entry {row.id} was altered after it was written (hash mismatch).")
            break
        if row.id == scan.boundary_id and row.action == coverage.UPGRADED:
            scan.upgrade = row
        if row.action == "VERIFIED" and row.entity_type == "AuditVerification" and row.entity_id:
            scan.verified_ids.add(int(row.entity_id))
        scan.entries += 1
        scan.head_id, scan.head_hash = row.id, row.hash


def _anchor_problems(scan: _Scan, anchor: anchors.Anchor | None, key: bytes) -> list[tuple[int, str]]:
    """The trail against the newest checkpoint kept outside the database."""
    if anchor is None:
        return []
    when = anchor.written_at
    if not anchor.signature_ok(key):
        return [
            (
                anchor.head_id,
                f"Entry {anchor.head_id}: the checkpoint of {when} is not signed with the audit key.",
            )
        ]
    problems = []
    head = db.session.execute(select(AuditLog.hash).where(AuditLog.id == anchor.head_id)).scalar()
    if head is None:
        last = db.session.execute(
            text("SELECT coalesce(max(id), 0) FROM audit_log WHERE id <= :id"), {"id": anchor.head_id}
        ).scalar_one()
        problems.append(
            (
                last + 1,
                f"Entry {last + 1} is missing: the checkpoint of {when} saw {anchor.entries} entries up to "
                f"entry {anchor.head_id} (entries were deleted).",
            )
        )
    elif head != anchor.head_hash:
        problems.append((anchor.head_id, f"Entry {anchor.head_id} differs from the checkpoint of {when}."))
    if anchor.boundary_id != scan.boundary_id and scan.broken is None:
        first = min(i for i in (anchor.boundary_id, scan.boundary_id) if i is not None)
        problems.append(
            (
                first,
                f"Entry {first}: the signed part of the trail no longer starts where the checkpoint of "
                f"{when} saw it (entry {anchor.boundary_id}).",
            )
        )
    return problems


def _verification_problems(scan: _Scan, anchor: anchors.Anchor | None) -> list[tuple[int, str]]:
    """Good verifications are chain entries too: their records must all still be there."""
    kept = set(
        db.session.execute(select(AuditVerification.id).where(AuditVerification.ok.is_(True))).scalars()
    )
    missing = set(scan.verified_ids) - kept
    if anchor is not None and anchor.verification_id is not None and anchor.verification_id not in kept:
        missing.add(anchor.verification_id)
    if not missing:
        return []
    first = min(missing)
    entry = db.session.execute(
        text(
            "SELECT min(id) FROM audit_log WHERE entity_type = 'AuditVerification' AND action = 'VERIFIED'"
            " AND entity_id = :v"
        ),
        {"v": str(first)},
    ).scalar()
    entry = entry or (anchor.head_id if anchor else 0)
    return [(entry, f"Entry {entry}: verification record {first} was deleted from audit_verification.")]


def verify_chain() -> VerifyResult:
    """Walk the chain; report the first broken entry (edited, deleted, inserted, reordered, cut off,
    a covered GMP row changed, or a verification record removed)."""
    key = chain.hmac_key()
    anchor = anchors.store().latest(_database_name())
    scan = _scan_chain(key)
    problems: list[tuple[int, str]] = [scan.broken] if scan.broken else []
    problems += _anchor_problems(scan, anchor, key)
    problems += _verification_problems(scan, anchor)
    unnamed = []
    for p in coverage.verify(db.session.connection(), scan.upgrade):
        if p.entry_id is None:
            unnamed.append(p.message)
        else:
            problems.append((p.entry_id, p.message))
    found = (scan.entries, scan.head_id, scan.head_hash, scan.boundary_id)
    if problems:
        broken_id, message = min(problems, key=lambda p: p[0])
        entries = db.session.execute(
            text("SELECT count(*) FROM audit_log WHERE id <= :id"), {"id": broken_id}
        ).scalar_one()
        return VerifyResult(False, entries, broken_id, message, *found[1:])
    if unnamed:
        return VerifyResult(False, scan.entries, None, unnamed[0], *found[1:])
    return VerifyResult(True, scan.entries, None, f"OK {scan.entries} entries", *found[1:])


def _database_name() -> str:
    return db.session.execute(text("SELECT current_database()")).scalar_one()


def verify_and_log(triggered_by: str) -> VerifyResult:
    """Verify the chain and keep the outcome (shown in the audit viewer). A good verification is
    itself a chain entry and is anchored outside the database (the next run compares with it)."""
    result = verify_chain()
    verification = AuditVerification(
        ok=result.ok,
        entries=result.entries,
        head_id=result.head_id if result.ok else None,
        head_hash=result.head_hash if result.ok else None,
        first_broken_id=result.first_broken_id,
        message=result.message,
        triggered_by=triggered_by,
    )
    db.session.add(verification)
    db.session.flush()
    anchor = None
    if result.ok:
        entry_id = record(
            "AuditVerification",
            verification.id,
            "VERIFIED",
            after={"entries": result.entries, "head_id": result.head_id, "head_hash": result.head_hash},
            actor=SYSTEM,
        )
        head_hash = db.session.execute(select(AuditLog.hash).where(AuditLog.id == entry_id)).scalar_one()
        anchor = anchors.Anchor(
            database=_database_name(),
            seq=0,
            written_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            entries=result.entries + 1,
            head_id=entry_id,
            head_hash=head_hash,
            boundary_id=result.boundary_id or entry_id,
            verification_id=verification.id,
        )
    bind = db.session.get_bind()
    db.session.commit()
    if anchor is not None and not _inside_outer_transaction(bind):
        write_anchor(anchor)
    return result


def write_anchor(anchor: anchors.Anchor) -> anchors.Anchor:
    """Append a signed checkpoint (numbered after the newest one) to the anchor store."""
    store = anchors.store()
    latest = store.latest(anchor.database)
    numbered = anchors.Anchor(**{**anchor.payload(), "seq": (latest.seq + 1) if latest else 1})
    signed = numbered.signed(chain.hmac_key())
    store.append(signed)
    return signed


def _inside_outer_transaction(bind: Any) -> bool:
    # Tests run app code inside a transaction that is rolled back at the end (commit = savepoint):
    # a checkpoint of rows that will vanish would report a false deletion later.
    from sqlalchemy.engine import Connection

    return isinstance(bind, Connection) and bind.in_transaction()

"""The audit chain's row hash: an HMAC the application computes with a key the database never holds.

Why the application and not the database: a person with database superuser rights can disable
triggers, replace functions and recompute a hash chain the database computes, so a chain the database
can recompute proves nothing against that person. The HMAC key lives only in the application's
environment (`AUDIT_HMAC_KEY`), so a forged, edited, re-ordered or re-chained row no longer verifies.

Appending: under `pg_advisory_xact_lock` (held until the business transaction ends) the writer reads
the head once per transaction, then assigns ids head+1, head+2 ... and chains each row to the one
before; concurrent writers queue on the lock and can never fork the chain. The database trigger
(migration 0017) re-checks the link so a writer that skipped the lock is refused.

Rows written before migration 0017 carry the database's SHA-256 (`hash_alg` NULL, the legacy part);
they are re-hashed here from a canonical text the query builds with pinned pg_catalog functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import text

from app.core import sql

HMAC_ALG = "hmac-sha256"
LOCK_KEY = "audit_log_chain"  # the advisory lock's key (the chain trigger and audit_chain_head use it)
_SESSION_HEAD = "audit_chain_head"  # session.info: (transaction, head id, head hash) while locked

# The chain's lock and its head in one call (migration 0019): `audit_chain_head()` takes the lock,
# then reads the head with a snapshot taken after the lock was granted. A writer may call it from its
# own statement (a batch move: app.batches.service) and hand the head to `locked_with_head`.
_HEAD = text("SELECT head_id, head_hash, head_alg FROM audit_chain_head()")

# Columns the HMAC covers, in this order (prev_hash links the row to its predecessor).
FIELDS = (
    "id",
    "occurred_at",
    "entity_type",
    "entity_id",
    "action",
    "actor_user_id",
    "actor_name",
    "actor_roles",
    "before",
    "after",
    "reason",
    "trace_id",
    "client_ip",
    "signature_id",
    "prev_hash",
)

KEY_FILE = "audit-hmac.key"


class MissingKey(RuntimeError):
    pass


def _local_key_file(instance: Path) -> bytes:
    """The demo's and the tests' key: made once in instance/ with 0600 permissions, then reused."""
    path = instance / KEY_FILE
    instance.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as fh:
        fh.write(os.urandom(32).hex() + "\n")
    return path.read_text().strip().encode()


def hmac_key() -> bytes:
    """`AUDIT_HMAC_KEY`; in demo, debug and test runs a key file in instance/ when it is unset."""
    cached = current_app.extensions.get("audit_hmac_key")
    if cached:
        return cached
    configured = current_app.config.get("AUDIT_HMAC_KEY") or ""
    if configured:
        key = configured.encode()
    elif current_app.config.get("DEMO_MODE") or current_app.config.get("TESTING") or current_app.debug:
        key = _local_key_file(Path(current_app.instance_path))
    else:  # config.refuse_unsafe_defaults stops production earlier; this is the last guard
        raise MissingKey("AUDIT_HMAC_KEY is not set: the audit trail cannot be written or verified.")
    current_app.extensions["audit_hmac_key"] = key
    return key


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _normalise(value: Any) -> Any:
    # JSONB stores numbers as numeric: 78.0 comes back as 78.0 but 1e20 comes back as an integer.
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


# json.dumps with these options, built once: json.dumps makes a new encoder on every call with
# options (the same output; a move signs two rows).
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(row: dict[str, Any]) -> bytes:
    """One stable byte string per row: JSON with sorted keys, so JSONB's key order does not matter."""
    values = [row[f] for f in FIELDS]
    values[1] = _iso(values[1])  # occurred_at
    values[8], values[9] = _normalise(values[8]), _normalise(values[9])  # before, after (JSONB)
    return _CANONICAL_JSON.encode([HMAC_ALG, *values]).encode()


def row_hmac(key: bytes, row: dict[str, Any]) -> str:
    return hmac.new(key, canonical(row), hashlib.sha256).hexdigest()


def sign(key: bytes, payload: dict[str, Any]) -> str:
    """HMAC of a JSON document (anchors, seals): sorted keys, compact separators."""
    body = _CANONICAL_JSON.encode(payload).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def legacy_hash(prev_hash: str | None, canonical_text: str) -> str:
    """The pre-0017 database hash, recomputed here instead of trusting the database's function."""
    return hashlib.sha256(f"{prev_hash or 'GENESIS'}|{canonical_text}".encode()).hexdigest()


# The legacy canonical text, built with schema-qualified built-ins (a replaced public function or a
# function earlier on the search path does not change it).
LEGACY_CANONICAL_SQL = """
    pg_catalog.jsonb_build_array(
        a.id,
        pg_catalog.to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.entity_type, a.entity_id, a.action, a.actor_user_id, a.actor_name, a.actor_roles,
        a.before, a.after, a.reason, a.trace_id, a.client_ip, a.signature_id
    )::text
"""


def next_link(session: Any, conn: Any = None) -> tuple[int, str | None, bool]:
    """Lock the chain for this transaction (once); return (next id, previous hash, head is HMAC).
    `conn`: the session's connection, when the caller has it already."""
    conn = conn if conn is not None else session.connection()
    transaction = conn.get_transaction()
    held = session.info.get(_SESSION_HEAD)
    if held is None or held[0] is not transaction:
        # Through the lean executor (app.core.sql): every audited act sends it, and SQLAlchemy's
        # per-statement Python cost more than the statement.
        head = sql.execute("audit.chain_head", lambda: _HEAD, {}, connection=conn)[0]
        held = _hold(session, transaction, head.head_id, head.head_hash, head.head_alg)
    return held[1] + 1, held[2], held[3]


def locked_with_head(
    session: Any, conn: Any, head_id: int | None, head_hash: str | None, head_alg: str | None
) -> None:
    """The caller's statement called `audit_chain_head()` in this transaction and read the head it
    returned: the lock is held until the transaction ends (or a rollback to a savepoint taken before
    it, which forgets the head here too), and `next_link` starts from that head without a statement."""
    _hold(session, conn.get_transaction(), head_id, head_hash, head_alg)


def _hold(
    session: Any, transaction: Any, head_id: int | None, head_hash: str | None, head_alg: str | None
) -> tuple:
    held = (transaction, head_id or 0, head_hash, head_id is not None and head_alg == HMAC_ALG)
    session.info[_SESSION_HEAD] = held
    return held


def advance(session: Any, entry_id: int, entry_hash: str) -> None:
    transaction = session.info[_SESSION_HEAD][0]
    session.info[_SESSION_HEAD] = (transaction, entry_id, entry_hash, True)


def forget(session: Any) -> None:
    session.info.pop(_SESSION_HEAD, None)


def _forget_on_rollback(session: Any, previous_transaction: Any) -> None:
    # A rolled-back savepoint or transaction may have removed rows this session chained: read the
    # head again next time (the lock, if still held, is re-entrant).
    forget(session)


def install() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_soft_rollback", _forget_on_rollback):
        event.listen(Session, "after_soft_rollback", _forget_on_rollback)

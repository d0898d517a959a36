"""The append-only GMP tables are covered by the audit chain.

Triggers refuse UPDATE and DELETE on batch events, QC result values, signatures, dispositions ... for
the application, but not for a database superuser. So every row inserted into one of them gets a
"SEALED" chain entry in the same transaction carrying the SHA-256 of the row as the database stores
it (`row_to_json`, restricted to the columns it had then); the entry's HMAC protects that hash.
Verification re-reads every covered row: an edited row, a deleted row and a row inserted outside the
application are reported. Rows that existed before the HMAC chain started are covered together by
the chain's first HMAC entry ("CHAIN_UPGRADED": per table, highest id, count and one digest).

Rows the ORM inserts are sealed by the after_flush hook below (it reads them back). A service that
writes a covered row with its own statement (a batch move's event, app.batches.service) has that
statement return `row_to_json` of the row and passes it to `audit.record(sealed=...)`: the same text
the hook would read, sealed in the same INSERT as the service's own audit row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

# Every table with refuse_change() triggers (grep the migrations), keyed by its integer id.
COVERED = (
    "esignature",
    "batch_event",
    "batch_qc_result_value",
    "batch_qc_attachment",
    "batch_qc_sample",
    "batch_disposition",
    "batch_release_signature",
    "order_event",
    "genealogy_edge",
    "batch_material_lot",
    "shipment_custody",
)
SEALED = "SEALED"
UPGRADED = "CHAIN_UPGRADED"


# json.dumps(sort_keys=True, separators=(",", ":")), built once (json.dumps makes an encoder per call)
_CONTENT_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def content_hash(row_json: str, columns: list[str], values: dict[str, Any] | None = None) -> str:
    # parse_float=str keeps numeric values exactly as PostgreSQL prints them (`values`: row_json
    # already parsed that way)
    values = json.loads(row_json, parse_float=str) if values is None else values
    body = _CONTENT_JSON.encode({c: values.get(c) for c in columns})
    return hashlib.sha256(body.encode()).hexdigest()


def _rows(conn: Any, table: str, ids: list[int] | None = None) -> Any:
    where = "WHERE t.id = ANY(:ids)" if ids is not None else ""
    sql = text(f'SELECT t.id, pg_catalog.row_to_json(t)::text AS j FROM "{table}" t {where} ORDER BY t.id')
    return conn.execute(sql, {"ids": ids} if ids is not None else {})


def seal_values(table: str, row_id: int, row_json: str) -> dict[str, Any]:
    values = json.loads(row_json, parse_float=str)  # parsed once: the columns and their content
    columns = sorted(values)
    return {
        "entity_type": table,
        "entity_id": str(row_id),
        "action": SEALED,
        "after": {"sha256": content_hash(row_json, columns, values), "columns": columns},
    }


def baseline(conn: Any) -> dict[str, Any]:
    """Per covered table: highest id, count and digest of the rows there before the HMAC chain."""
    tables = {}
    for table in COVERED:
        digest, count, top = hashlib.sha256(), 0, 0
        for row in _rows(conn, table):
            columns = sorted(json.loads(row.j))
            digest.update(content_hash(row.j, columns).encode())
            count, top = count + 1, row.id
        tables[table] = {"max_id": top, "count": count, "sha256": digest.hexdigest()}
    return tables


# --- writing: an after_flush hook seals what the flush inserted -----------------------------------
def _after_flush(session: Session, flush_context: Any) -> None:
    new: dict[str, list[int]] = {}
    for obj in session.new:
        table = getattr(obj, "__tablename__", None)
        if table in COVERED:
            new.setdefault(table, []).append(obj.id)
    if not new:
        return
    from app.audit import service

    conn = session.connection()
    seals = [
        seal_values(table, row.id, row.j)
        for table, ids in sorted(new.items())
        for row in _rows(conn, table, sorted(ids))
    ]
    service.append_entries(session, seals)  # one INSERT for all of the flush's seals


def install() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


# --- verifying ------------------------------------------------------------------------------------
@dataclass
class Problem:
    entry_id: int | None
    message: str


def _seals(conn: Any, table: str) -> Iterator[Any]:
    sql = text(
        "SELECT id AS entry_id, entity_id::bigint AS row_id, after FROM audit_log "
        "WHERE entity_type = :t AND action = :a AND hash_alg IS NOT NULL ORDER BY 2, 1"
    )
    return iter(conn.execute(sql, {"t": table, "a": SEALED}))


def verify(conn: Any, upgrade_entry: Any | None) -> list[Problem]:
    """Compare every covered row with its seal (or with the upgrade digest for older rows)."""
    problems: list[Problem] = []
    base = (upgrade_entry.after or {}).get("tables", {}) if upgrade_entry is not None else {}
    for table in COVERED:
        floor = base.get(table, {"max_id": 0, "count": 0, "sha256": hashlib.sha256().hexdigest()})
        digest, count = hashlib.sha256(), 0
        seals = _seals(conn, table)
        seal = next(seals, None)
        first: Problem | None = None

        def note(p: Problem, current: Problem | None) -> Problem:
            if current is None or (p.entry_id or 1 << 62) < (current.entry_id or 1 << 62):
                return p
            return current

        for row in _rows(conn, table):
            while seal is not None and seal.row_id < row.id:
                first = note(
                    Problem(
                        seal.entry_id,
                        f"Entry {seal.entry_id}: {table} {seal.row_id}, sealed by this entry, was deleted.",
                    ),
                    first,
                )
                seal = next(seals, None)
            if seal is not None and seal.row_id == row.id:
                if content_hash(row.j, seal.after["columns"]) != seal.after["sha256"]:
                    first = note(
                        Problem(
                            seal.entry_id,
                            f"Entry {seal.entry_id}: {table} {row.id} was altered after this entry sealed it.",
                        ),
                        first,
                    )
                seal = next(seals, None)
            elif row.id <= floor["max_id"]:
                digest.update(content_hash(row.j, sorted(json.loads(row.j))).encode())
                count += 1
            else:
                first = note(
                    Problem(
                        None,
                        f"{table} {row.id} has no entry in the audit trail "
                        "(written outside the application).",
                    ),
                    first,
                )
        while seal is not None:
            first = note(
                Problem(
                    seal.entry_id,
                    f"Entry {seal.entry_id}: {table} {seal.row_id}, sealed by this entry, was deleted.",
                ),
                first,
            )
            seal = next(seals, None)
        if (count, digest.hexdigest()) != (floor["count"], floor["sha256"]):
            entry = upgrade_entry.id if upgrade_entry is not None else None
            first = note(
                Problem(
                    entry,
                    f"Entry {entry}: {table} rows up to id {floor['max_id']}, sealed together by this "
                    f"entry, were changed ({floor['count']} rows then, {count} now).",
                ),
                first,
            )
        if first is not None:
            problems.append(first)
    return problems

"""The audit trail is append-only and hash-chained, enforced by the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.audit import service as audit


def _append(n: int) -> list[int]:
    return [audit.record("Test", i, "CREATE", after={"n": i}) for i in range(n)]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
def test_audit_log_refuses_update_delete_truncate_even_for_superuser(app_ctx, db_session, statement):
    _append(1)
    db_session.flush()
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(text(statement))


def test_rows_chain_each_to_the_previous_hash(app_ctx, db_session):
    ids = _append(3)
    rows = db_session.execute(
        text("SELECT id, prev_hash, hash FROM audit_log WHERE id = ANY(:ids) ORDER BY id"), {"ids": ids}
    ).all()
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert all(len(r.hash) == 64 for r in rows)


def test_verify_names_the_tampered_entry_then_passes_once_undone(app_ctx, db_session):
    ids = _append(3)
    assert audit.verify_chain().ok
    target = ids[1]
    db_session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    db_session.execute(text("UPDATE audit_log SET reason = 'tampered' WHERE id = :id"), {"id": target})
    result = audit.verify_chain()
    assert not result.ok and result.first_broken_id == target
    db_session.execute(text("UPDATE audit_log SET reason = NULL WHERE id = :id"), {"id": target})
    db_session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    assert audit.verify_chain().ok


def test_verify_detects_a_deleted_entry(app_ctx, db_session):
    ids = _append(3)
    db_session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    db_session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
    result = audit.verify_chain()
    assert not result.ok and result.first_broken_id == ids[2]

"""The chain holds under concurrent writers, and `flask audit verify` catches a superuser's tampering.

These tests commit for real (other connections must see the rows). The rows they add stay in the
audit trail, which is fine: every test leaves the chain valid again when it ends.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from app.audit import service as audit
from app.audit.models import AuditLog
from app.core.actor import SYSTEM
from app.core.extensions import db

WRITERS, ROWS_EACH = 8, 40


def _append_committed(app, n: int, label: str) -> list[int]:
    with app.app_context():
        ids = []
        for i in range(n):
            ids.append(audit.record("ChainTest", f"{label}-{i}", "CREATE", after={"i": i}, actor=SYSTEM))
            db.session.commit()
        db.session.remove()
        return ids


def test_concurrent_writers_never_fork_the_chain(app):
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            with app.test_request_context():
                barrier.wait()
                for i in range(ROWS_EACH):
                    # a business action: one or two rows per commit, on this thread's own connection
                    audit.record("ChainTest", f"w{w}-{i}", "UPDATE", after={"w": w, "i": i}, actor=SYSTEM)
                    if i % 3 == 0:
                        audit.record("ChainTest", f"w{w}-{i}", "SIGN", after={"w": w}, actor=SYSTEM)
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors

    with app.app_context():
        written = db.session.execute(
            select(func.count()).where(AuditLog.entity_type == "ChainTest", AuditLog.entity_id.like("w%"))
        ).scalar_one()
        assert written == WRITERS * (ROWS_EACH + len(range(0, ROWS_EACH, 3)))
        forks = db.session.execute(
            text("SELECT prev_hash FROM audit_log GROUP BY prev_hash HAVING count(*) > 1")
        ).all()
        assert forks == []
        assert audit.verify_chain().ok
        db.session.remove()


# --- tampering by a superuser with the triggers disabled ------------------------------------------
def _as_superuser(app, *statements: tuple[str, dict]) -> None:
    """Run statements with the audit triggers off, in one committed transaction."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        for sql, params in statements:
            conn.execute(text(sql), params)
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def _verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output.strip()


@pytest.fixture
def chain(app):
    ids = _append_committed(app, 5, "tamper")
    code, output = _verify(app)
    assert code == 0 and output.startswith("OK ") and output.endswith(" entries"), output
    yield ids
    assert _verify(app)[0] == 0, "a test left the audit chain broken"


def test_verify_names_an_edited_entry_and_passes_again_once_undone(app, chain):
    target = chain[2]
    _as_superuser(app, ("UPDATE audit_log SET reason = 'edited later' WHERE id = :id", {"id": target}))
    code, output = _verify(app)
    assert code == 1 and f"Entry {target}" in output and "altered" in output

    _as_superuser(app, ("UPDATE audit_log SET reason = NULL WHERE id = :id", {"id": target}))
    code, output = _verify(app)
    assert code == 0 and output.startswith("OK "), output


def test_verify_names_the_entry_after_a_deleted_one_and_passes_once_restored(app, chain):
    target = chain[2]
    table = AuditLog.__table__
    with app.app_context():
        saved = dict(db.session.execute(select(table).where(table.c.id == target)).mappings().one())
        db.session.remove()
    _as_superuser(app, ("DELETE FROM audit_log WHERE id = :id", {"id": target}))
    code, output = _verify(app)
    assert code == 1 and f"Entry {chain[3]}" in output and "does not follow" in output

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(table.insert().values(**saved))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    assert _verify(app)[0] == 0


def test_verify_detects_two_entries_swapped_and_passes_once_swapped_back(app, chain):
    a, b = chain[1], chain[2]
    swap = (
        ("UPDATE audit_log SET id = -1 WHERE id = :a", {"a": a}),
        ("UPDATE audit_log SET id = :a WHERE id = :b", {"a": a, "b": b}),
        ("UPDATE audit_log SET id = :b WHERE id = -1", {"b": b}),
    )
    _as_superuser(app, *swap)
    code, output = _verify(app)
    assert code == 1 and f"Entry {a}" in output

    _as_superuser(app, *swap)  # the same swap again restores the order
    assert _verify(app)[0] == 0


def test_verify_detects_an_inserted_entry(app, chain):
    with app.app_context():
        forged_id = db.session.execute(text("SELECT max(id) FROM audit_log")).scalar_one() + 1000
        db.session.remove()
    forged = (
        "INSERT INTO audit_log (id, occurred_at, entity_type, entity_id, action, actor_name, actor_roles,"
        " prev_hash, hash) SELECT :id, now(), 'Batch', '1', 'RELEASE', 'Someone', '', hash, hash"
        " FROM audit_log WHERE id = :head",
        {"id": forged_id, "head": chain[-1]},
    )
    _as_superuser(app, forged)
    code, output = _verify(app)
    assert code == 1 and f"Entry {forged_id}" in output
    _as_superuser(app, ("DELETE FROM audit_log WHERE id = :id", {"id": forged_id}))

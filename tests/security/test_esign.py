"""E-signature: password re-entry, audit of every attempt, lockout after repeated failures."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.audit import service as audit
from app.audit.models import AuditLog
from app.core.actor import SYSTEM, actor_from_user
from app.core.domain import DomainError
from app.notifications.models import Notification
from app.security import esign
from app.security.models import ESignature, SignatureFailure
from tests.conftest import DEMO_PASSWORD

CONTENT = {"batch": "FDG-20261122-01", "disposition": "RELEASE", "results": [{"test": "pH", "value": 5.5}]}
MIN = dt.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch):
    """Lock notifications enqueue e-mail after commit: keep those jobs off the shared test Redis."""
    monkeypatch.setattr("app.core.jobs._enqueue", lambda *a, **k: None)


def _actor(username: str):
    return actor_from_user(current_app.appbuilder.sm.find_user(username=username))


def _sign(actor, password=DEMO_PASSWORD, now=None, entity_id=7, **kw):
    return esign.sign(
        actor,
        password,
        scope="BATCH_RELEASE",
        entity_type="Batch",
        entity_id=entity_id,
        meaning="QP certification: released for human use",
        content=CONTENT,
        now=now,
        **kw,
    )


def _refused(actor, now, password="wrong-password-123", entity_id=7) -> DomainError:
    with pytest.raises(DomainError) as info:
        _sign(actor, password, now=now, entity_id=entity_id)
    return info.value


def _count(db_session, model, *where) -> int:
    return db_session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_sign_records_signer_meaning_content_hash_and_a_sign_audit_row(app_ctx, db_session):
    qp = _actor("qp")
    sig = _sign(qp, comment="All results within specification")
    assert sig.id and sig.scope == "BATCH_RELEASE" and sig.entity_type == "Batch" and sig.entity_id == "7"
    assert (sig.signer_id, sig.signer_name, sig.signer_roles) == (qp.user_id, "Dr. Sara Mansour", "QP")
    assert sig.content_sha256 == esign.content_sha256(CONTENT) and len(sig.content_sha256) == 64
    assert sig.signed_at.tzinfo is not None
    row = db_session.execute(select(AuditLog).where(AuditLog.signature_id == sig.id)).scalar_one()
    assert (row.action, row.entity_type, row.entity_id, row.actor_user_id) == (
        "SIGN",
        "Batch",
        "7",
        qp.user_id,
    )
    assert row.after["meaning"] == "QP certification: released for human use"


def test_content_hash_is_canonical_json_independent_of_key_order():
    a = {"b": 1, "a": [1, 2], "when": dt.datetime(2026, 11, 22, 4, 0, tzinfo=dt.UTC)}
    b = {
        "when": dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))),
        "a": [1, 2],
        "b": 1,
    }
    assert esign.content_sha256(a) == esign.content_sha256(b)
    assert esign.canonical_json({"ب": "é", "a": 1}) == '{"a":1,"ب":"é"}'.encode()
    assert esign.content_sha256({"a": 1}) != esign.content_sha256({"a": 2})


def test_wrong_password_rolls_back_the_callers_work_and_is_recorded(app_ctx, db_session):
    qp = _actor("qp")
    # Signatures and audit rows are kept between committed (browser, race) tests: look at ours only.
    last_sig = db_session.execute(select(func.coalesce(func.max(ESignature.id), 0))).scalar_one()
    last_audit = db_session.execute(select(func.coalesce(func.max(AuditLog.id), 0))).scalar_one()
    pending = audit.record("Batch", 7, "STATUS_CHANGE", after={"status": "RELEASED"}, actor=qp)
    err = _refused(qp, now=dt.datetime.now(dt.UTC))
    assert (err.code, err.status, err.user_message) == ("SIGNATURE_INVALID", 403, esign.INVALID_MESSAGE)
    # the release did not happen (ids are gapless: the next entry may take the rolled-back one's id)
    assert _count(db_session, AuditLog, AuditLog.id == pending, AuditLog.action == "STATUS_CHANGE") == 0
    assert _count(db_session, ESignature, ESignature.entity_type == "Batch", ESignature.id > last_sig) == 0
    assert _count(db_session, SignatureFailure, SignatureFailure.user_id == qp.user_id) == 1
    failed = db_session.execute(
        select(AuditLog).where(AuditLog.action == "SIGNATURE_FAILED", AuditLog.id > last_audit)
    ).scalar_one()
    assert (failed.entity_type, failed.entity_id, failed.actor_user_id) == ("Batch", "7", qp.user_id)
    assert failed.after["failures_in_row"] == 1 and failed.after["locked_until"] is None
    assert audit.verify_chain().ok


def test_five_failures_in_a_row_lock_signing_for_15_minutes_and_notify_admins_once(app_ctx, db_session):
    qp, t0 = _actor("qp"), dt.datetime.now(dt.UTC)
    for i in range(4):
        assert "locked" not in _refused(qp, t0 + i * MIN).user_message
    fifth = _refused(qp, t0 + 4 * MIN)
    assert fifth.code == "SIGNATURE_INVALID" and "locked until" in fifth.user_message

    locked = _refused(qp, t0 + 10 * MIN, password=DEMO_PASSWORD)  # even the right password
    assert (locked.code, locked.status) == ("SIGNATURE_LOCKED", 423)
    local_end = (t0 + 19 * MIN).astimezone(dt.timezone(dt.timedelta(hours=3)))  # Asia/Riyadh
    assert f"try again at {local_end:%H:%M} Asia/Riyadh" in locked.user_message
    assert _count(db_session, AuditLog, AuditLog.action == "SIGNATURE_REFUSED_LOCKED") == 1
    assert (
        _count(db_session, SignatureFailure, SignatureFailure.user_id == qp.user_id) == 5
    )  # refusals while locked are not failures

    admin = _actor("admin")
    notes = (
        db_session.execute(select(Notification).where(Notification.kind == "SIGNATURE_LOCKED"))
        .scalars()
        .all()
    )
    assert [n.user_id for n in notes] == [admin.user_id]
    assert "Dr. Sara Mansour" in notes[0].title

    assert _sign(qp, now=t0 + 20 * MIN).id  # 15 minutes after the fifth failure: unlocked


def test_a_success_resets_the_run_of_failures(app_ctx, db_session):
    qp, t0 = _actor("qp"), dt.datetime.now(dt.UTC)
    for i in range(4):
        _refused(qp, t0 - (5 - i) * MIN)
    _sign(qp, now=t0)
    db_session.commit()  # the caller's commit: a later failure rolls back only what is pending
    for i in range(4):
        assert _refused(qp, t0 + (i + 1) * MIN).code == "SIGNATURE_INVALID"
    assert not esign.current_lock_state(qp.user_id, t0 + 5 * MIN).locked
    assert "locked until" in _refused(qp, t0 + 5 * MIN).user_message


def test_failures_spread_wider_than_the_window_do_not_lock(app_ctx, db_session):
    qp, t0 = _actor("qp"), dt.datetime.now(dt.UTC)
    for i in range(6):
        assert "locked" not in _refused(qp, t0 + i * 4 * MIN).user_message
    assert esign.current_lock_state(qp.user_id, t0 + 21 * MIN).failures_in_row == 4


def test_lock_of_one_user_does_not_touch_another(app_ctx, db_session):
    qp, t0 = _actor("qp"), dt.datetime.now(dt.UTC)
    for i in range(5):
        _refused(qp, t0 + i * MIN)
    assert _sign(_actor("qcmanager"), now=t0 + 5 * MIN, entity_id=8).signer_name == "Rami Aziz"


def test_lock_state_replay_starts_a_new_run_after_a_lock():
    t0, window = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC), dt.timedelta(minutes=15)
    five = [t0 + i * MIN for i in range(5)]
    state = esign.lock_state(five, now=t0 + 5 * MIN, max_failures=5, window=window)
    assert state.locked and state.locked_until == t0 + 19 * MIN and state.failures_in_row == 0
    after = five + [t0 + 20 * MIN]  # one failure after the lock expired counts as the first of a run
    state = esign.lock_state(after, now=t0 + 20 * MIN, max_failures=5, window=window)
    assert not state.locked and state.failures_in_row == 1


def test_system_cannot_sign_and_a_missing_password_is_not_a_failure(app_ctx, db_session):
    with pytest.raises(DomainError) as info:
        _sign(SYSTEM)
    assert info.value.status == 403
    with pytest.raises(DomainError) as info:
        _sign(_actor("qp"), password="")
    assert (
        info.value.status == 422
        and _count(db_session, SignatureFailure, SignatureFailure.scope == "BATCH_RELEASE") == 0
    )


def test_manifestation_gives_printed_name_utc_and_local_time_and_meaning(app_ctx, db_session):
    sig = _sign(_actor("qp"))
    m = esign.manifestation(sig)
    assert m["printed_name"] == "Dr. Sara Mansour" and m["meaning"].startswith("QP certification")
    assert m["utc_text"].endswith("UTC") and "(Asia/Riyadh)" in m["local_text"]
    assert dt.datetime.fromisoformat(m["signed_at_utc"]).utcoffset() == dt.timedelta(0)

"""Notifications: rows in the caller's transaction, e-mail job only after commit, idempotent worker."""

from __future__ import annotations

import secrets

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from app.core.extensions import db, get_redis
from app.core.jobs import enqueue_after_commit, job, pending_jobs, use_app
from app.notifications import service as notifications
from app.notifications.models import EmailOutbox, Notification


@pytest.fixture
def queue(app, monkeypatch):
    """A queue of our own on the shared test Redis, so parallel test runs never see our jobs."""
    with app.app_context():
        q = Queue(f"test-{secrets.token_hex(4)}", connection=get_redis())
    monkeypatch.setattr("app.core.extensions.get_queue", lambda name="default": q)
    yield q
    q.empty()
    q.delete(delete_jobs=True)


def _user_id(username: str) -> int:
    return db.session.execute(
        select(db.metadata.tables["ab_user"].c.id).where(db.metadata.tables["ab_user"].c.username == username)
    ).scalar_one()


def _work(q: Queue) -> None:
    SimpleWorker([q], connection=q.connection).work(burst=True, with_scheduler=True)


def test_notify_writes_one_row_per_active_recipient_resolving_roles(app_ctx, db_session, queue):
    qc, qp, admin = _user_id("qc"), _user_id("qp"), _user_id("admin")
    ids = notifications.notify(
        "TEST", "Batch needs review", "FDG-1 waits for you", roles=("QP", "Admin"), user_ids=(qc, qp)
    )
    rows = db_session.execute(select(Notification).where(Notification.id.in_(ids))).scalars().all()
    assert sorted(n.user_id for n in rows) == sorted({qc, qp, admin})
    assert all(n.read_at is None and n.email_status == "PENDING" for n in rows)


def test_inactive_users_are_not_notified(app_ctx, db_session, queue):
    qc = _user_id("qc")
    db_session.execute(
        db.metadata.tables["ab_user"]
        .update()
        .where(db.metadata.tables["ab_user"].c.id == qc)
        .values(active=False)
    )
    assert notifications.notify("TEST", "t", "b", user_ids=(qc,)) == []


def test_email_job_waits_for_commit_and_is_dropped_on_rollback(app_ctx, db_session, queue):
    notifications.notify("TEST", "t", "b", roles=("QP",))
    assert len(pending_jobs()) == 1 and queue.count == 0
    db_session.rollback()
    assert pending_jobs() == [] and queue.count == 0

    notifications.notify("TEST", "t", "b", roles=("QP",))
    db_session.commit()
    assert pending_jobs() == [] and queue.count == 1


def test_job_queued_in_a_rolled_back_savepoint_is_dropped_but_outer_one_kept(app_ctx, db_session, queue):
    enqueue_after_commit(_noop, "outer")
    nested = db_session.begin_nested()
    enqueue_after_commit(_noop, "inner")
    nested.rollback()
    db_session.commit()
    assert [j.args for j in queue.jobs] == [("outer",)]


def _noop(*args):
    return args


def test_worker_emails_each_notification_once_and_skips_read_ones(app, committed, queue):
    qc, qp = _user_id("qc"), _user_id("qp")
    first = notifications.notify("TEST", "Release waiting", "FDG-7", user_ids=(qc, qp))
    committed.commit()
    notifications.mark_read(qc, [first[0]])  # qc saw it in the app before the worker ran

    _work(queue)

    outbox = (
        committed.execute(select(EmailOutbox).where(EmailOutbox.status == "SENT").order_by(EmailOutbox.id))
        .scalars()
        .all()
    )
    assert [o.notification_id for o in outbox] == [first[1]]
    assert outbox[0].to_address == "qp@demo.radiopharma.example" and outbox[0].transport == "outbox"
    statuses = dict(committed.execute(select(Notification.id, Notification.email_status)).all())
    assert statuses == {first[0]: "SKIPPED", first[1]: "SENT"}

    # A second delivery of the same job (RQ re-run, duplicate enqueue) sends nothing new.
    queue.enqueue("app.notifications.jobs.send_notification_emails", first)
    _work(queue)
    sent = select(func.count()).select_from(EmailOutbox).where(EmailOutbox.status == "SENT")
    assert committed.execute(sent).scalar_one() == 1


def test_sweeper_sends_mail_whose_job_was_lost(app, committed, queue, monkeypatch):
    monkeypatch.setattr("app.core.jobs._enqueue", lambda *a, **k: None)  # Redis "down" at commit
    ids = notifications.notify("TEST", "Lost job", "b", roles=("QP",))
    committed.commit()
    monkeypatch.undo()
    from app.notifications.jobs import send_pending_emails

    assert send_pending_emails()["sent"] == len(ids)
    assert send_pending_emails()["sent"] == 0


def test_a_failing_sender_marks_failed_and_keeps_going(app, committed, queue):
    class Flaky:
        transport = "test"

        def send(self, mail):
            if mail.to.startswith("qc@"):
                raise OSError("mailbox unavailable")

    ids = notifications.notify("TEST", "t", "b", user_ids=(_user_id("qc"), _user_id("qp")))
    committed.commit()
    notifications.set_sender(Flaky())
    try:
        _work(queue)
    finally:
        notifications.set_sender(None)
    rows = dict(
        committed.execute(
            select(Notification.id, Notification.email_status).where(Notification.id.in_(ids))
        ).all()
    )
    assert sorted(rows.values()) == ["RETRYING", "SENT"]  # the failed one is tried again later


@job
def _where_am_i():
    from flask import current_app

    return current_app.name, db.session.execute(
        select(func.count()).select_from(Notification)
    ).scalar_one() >= 0


def test_job_wrapper_runs_without_an_outer_app_context(app):
    use_app(app)
    try:
        assert _where_am_i() == (app.name, True)
    finally:
        use_app(None)

"""notify_event: recipients per event (a hospital hears only of its own records), templates with named
variables (Admin's wording, unknown variables refused, audited), preferences, and the scheduled sender
against a fake SMTP server on localhost with a failure and its retry."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from sqlalchemy import select

from app.core.actor import actor_from_user
from app.core.domain import ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Customer, CustomerUser
from app.notifications import events, settings
from app.notifications import service as notifications
from app.notifications.models import EmailDelivery, EmailOutbox, Notification


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch):
    monkeypatch.setattr("app.core.jobs._enqueue", lambda *a, **k: None)


def _uid(username: str) -> int:
    users = db.metadata.tables["ab_user"]
    return db.session.execute(select(users.c.id).where(users.c.username == username)).scalar_one()


def _users(username: str):
    from flask_appbuilder.security.sqla.models import User

    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def _told(ids: list[int]) -> set[str]:
    from flask_appbuilder.security.sqla.models import User

    rows = db.session.execute(
        select(User.username)
        .join(Notification, Notification.user_id == User.id)
        .where(Notification.id.in_(ids))
    )
    return set(rows.scalars())


def _hospital_customer_id() -> int:
    return db.session.execute(
        select(CustomerUser.customer_id).where(CustomerUser.user_id == _uid("hospital"))
    ).scalar_one()


def _other_customer_id() -> int:
    own = _hospital_customer_id()
    return db.session.execute(select(Customer.id).where(Customer.id != own).limit(1)).scalar_one()


@pytest.mark.parametrize("code", sorted(events.CATALOGUE))
def test_each_event_reaches_its_roles_and_only_its_own_hospital(app_ctx, db_session, code):
    ev = events.CATALOGUE[code]
    variables = {v: f"<{v}>" for v in ev.variables}
    own = notifications.notify_event(code, "/x/1", variables, customer_id=_hospital_customer_id())
    told = _told(own)
    role_users = set(
        db.session.execute(
            select(db.metadata.tables["ab_user"].c.username).where(
                db.metadata.tables["ab_user"].c.id.in_(notifications.recipients(ev.roles))
            )
        ).scalars()
    )
    assert role_users <= told
    assert ("hospital" in told) == ev.customer
    # Another hospital's record: our hospital user hears nothing of it.
    other = notifications.notify_event(code, "/x/2", variables, customer_id=_other_customer_id())
    assert "hospital" not in _told(other)


def test_hospitals_are_never_addressed_by_role(app_ctx, db_session):
    with pytest.raises(ValueError):
        notifications.notify_event("ORDER_VALIDATED", None, {}, roles=("Customer",))


def test_template_variables_are_filled_and_record_linked(app_ctx, db_session):
    (nid,) = notifications.notify_event(
        "QC_FAILED",
        "/batches/7",
        {"batch_no": "FDG-7", "product": "FDG", "summary": "pH 3.1", "outcome": "on hold", "actor": "Q"},
        roles=("QP",),
        user_ids=(),
    )[:1]
    n = db_session.get(Notification, nid)
    assert n.title == "QC failed on FDG-7" and "pH 3.1" in n.body and "{" not in n.body
    assert n.record_url == "/batches/7" and n.kind == "QC_FAILED"
    outbox = db_session.execute(select(EmailOutbox).where(EmailOutbox.notification_id == nid)).scalar_one()
    assert outbox.status == "PENDING" and outbox.subject == n.title  # same transaction as the act


def test_unknown_variable_is_refused_and_a_good_template_is_used_and_audited(app_ctx, db_session):
    admin = actor_from_user(_users("admin"))
    with pytest.raises(ValidationFailed) as refused:
        settings.save_template("BATCH_RELEASED", "en", "{batchno} released", "x", admin)
    assert "{batchno}" in refused.value.user_message
    with pytest.raises(ValidationFailed):
        settings.save_template("BATCH_RELEASED", "en", "ok", "{batch_no.__class__}", admin)
    settings.save_template("BATCH_RELEASED", "ar", "أُفرج عن {batch_no}", "المنتج {product}", admin)
    settings.save_preferences(_uid("disp"), "ar", set(events.CATALOGUE), True)
    ids = notifications.notify_event("BATCH_RELEASED", "/batches/1", {"batch_no": "FDG-1", "product": "FDG"})
    by_user = {
        n.user_id: n
        for n in db_session.execute(select(Notification).where(Notification.id.in_(ids))).scalars()
    }
    assert by_user[_uid("disp")].title == "أُفرج عن FDG-1" and by_user[_uid("disp")].language == "ar"
    assert by_user[_uid("planner")].title == "FDG-1 was released by the QP"
    audit = db.metadata.tables["audit_log"]
    row = db_session.execute(
        select(audit.c.after).where(
            audit.c.entity_type == "NotificationTemplate", audit.c.entity_id == "BATCH_RELEASED/ar"
        )
    ).scalar_one()
    assert row["subject"] == "أُفرج عن {batch_no}"


def test_preferences_choose_which_events_are_emailed(app_ctx, db_session):
    planner = _uid("planner")
    settings.save_preferences(planner, "en", {"ORDER_SUBMITTED"}, True)
    held = notifications.notify_event("RESERVATION_HELD", None, {"reference": "R-1"}, roles=("Planner",))
    submitted = notifications.notify_event("ORDER_SUBMITTED", None, {"order_no": "O-1"}, roles=("Planner",))
    mails = set(db_session.execute(select(EmailOutbox.notification_id)).scalars())
    n_held = next(i for i in held if db_session.get(Notification, i).user_id == planner)
    n_sub = next(i for i in submitted if db_session.get(Notification, i).user_id == planner)
    assert n_sub in mails and n_held not in mails
    assert db_session.get(Notification, n_held).email_status == "SKIPPED"


# --- the sender against a real SMTP server on localhost ----------------------------------------------
class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "451 4.3.0 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf8", "replace")))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_scheduled_sweep_sends_over_smtp_retries_a_failure_with_backoff_and_logs_it(
    app, committed, smtp_server, monkeypatch
):
    inbox, port = smtp_server
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": "0"}.items():
        monkeypatch.setitem(app.config, key, value)
    inbox.refuse.add("qc@demo.radiopharma.example")
    ids = notifications.notify_event(
        "BATCH_QC_PENDING",
        "/batches/3",
        {"batch_no": "FDG-3", "product": "FDG"},
        roles=("QC Analyst", "QC Manager"),
    )
    committed.commit()
    from app.core.jobs import PERIODIC

    func, every = PERIODIC["notifications-send-pending"]  # what the worker's ticker runs every minute
    assert every == 60
    t0 = dt.datetime.now(dt.UTC)
    first = notifications.deliver_emails(None, now=t0)
    assert first["retrying"] == 1 and first["sent"] == len(ids) - 1
    assert any("FDG-3 is waiting for QC" in body for _to, body in inbox.messages)
    failed = committed.execute(select(EmailOutbox).where(EmailOutbox.status == "RETRYING")).scalar_one()
    assert failed.to_address == "qc@demo.radiopharma.example" and "451" in failed.last_error
    assert failed.next_attempt_at == t0 + notifications.backoff(1)

    assert notifications.deliver_emails(None, now=t0 + dt.timedelta(seconds=30))["sent"] == 0  # not due yet
    inbox.refuse.clear()
    assert func() is not None  # the periodic job itself runs (nothing due yet at real time + 0 s)
    again = notifications.deliver_emails(None, now=t0 + notifications.backoff(1) + dt.timedelta(seconds=1))
    assert again["sent"] == 1
    log = committed.execute(
        select(EmailDelivery.attempt, EmailDelivery.outcome)
        .where(EmailDelivery.outbox_id == failed.id)
        .order_by(EmailDelivery.id)
    ).all()
    assert [tuple(r) for r in log] == [(1, "RETRYING"), (2, "SENT")]
    assert notifications.deliver_emails(None, now=t0 + dt.timedelta(hours=2)) == {
        "sent": 0,
        "skipped": 0,
        "failed": 0,
        "retrying": 0,
    }


def test_without_mail_server_mail_stays_in_the_outbox(app, committed):
    notifications.notify_event(
        "RECALL", "/batches/9", {"batch_no": "FDG-9", "reason": "sterility"}, roles=("QP",)
    )
    committed.commit()
    assert notifications.deliver_emails(None)["sent"] >= 1
    transports = set(committed.execute(select(EmailOutbox.transport)).scalars())
    assert transports == {"outbox"}


def test_last_attempt_marks_failed_with_the_error(app, committed):
    class Down:
        transport = "test"

        def send(self, mail):
            raise OSError("connection refused")

    notifications.notify_event("RECALL", None, {"batch_no": "F"}, roles=("QP",))
    committed.commit()
    notifications.set_sender(Down())
    try:
        now = dt.datetime.now(dt.UTC)
        for _ in range(notifications.MAX_ATTEMPTS):
            notifications.deliver_emails(None, now=now)
            now += dt.timedelta(hours=2)
    finally:
        notifications.set_sender(None)
    rows = committed.execute(select(EmailOutbox.status, EmailOutbox.attempts, EmailOutbox.last_error)).all()
    assert {tuple(r) for r in rows} == {("FAILED", notifications.MAX_ATTEMPTS, "connection refused")}


def test_admin_sees_templates_and_delivery_log_others_do_not(client, db_session):
    from tests.conftest import login_page

    login_page(client, "admin")
    assert "Reservation held" in client.get("/notifications/admin/templates").get_data(as_text=True)
    r = client.post(
        "/notifications/admin/templates/BATCH_RELEASED/en", data={"subject": "{nope}", "body": "b"}
    )
    assert "Unknown variable" in r.get_data(as_text=True)
    assert client.get("/notifications/admin/deliveries").status_code == 200
    client.get("/logout/")
    login_page(client, "qc")
    assert client.get("/notifications/admin/deliveries").status_code in (302, 403)
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'id="rp-bell"' in page

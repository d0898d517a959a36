"""The bell page: every role sees its own notifications and marks them read; nobody else's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.extensions import db
from app.notifications import service as notifications
from app.notifications.models import Notification
from tests.conftest import login_page


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch):
    monkeypatch.setattr("app.core.jobs._enqueue", lambda *a, **k: None)


def _uid(username: str) -> int:
    users = db.metadata.tables["ab_user"]
    return db.session.execute(select(users.c.id).where(users.c.username == username)).scalar_one()


@pytest.mark.parametrize("username", ["hospital", "qc", "auditor", "admin"])
def test_each_role_sees_its_own_notifications(client, db_session, username):
    notifications.notify("TEST", "Your order was confirmed", "Order 42", user_ids=(_uid(username),))
    notifications.notify("TEST", "Someone else's news", "x", user_ids=(_uid("planner"),))
    db_session.flush()
    login_page(client, username)
    html = client.get("/notifications/").get_data(as_text=True)
    assert "Your order was confirmed" in html and "1 unread" in html
    assert "Someone else" not in html
    assert 'href="/notifications/"' in client.get("/notifications/?show=unread").get_data(as_text=True)


def test_mark_one_and_all_read(client, db_session):
    qc = _uid("qc")
    a, b = notifications.notify("TEST", "A", "a", user_ids=(qc,)) + notifications.notify(
        "TEST", "B", "b", user_ids=(qc,)
    )
    login_page(client, "qc")
    assert client.post(f"/notifications/{a}/read").status_code == 302
    read = dict(db_session.execute(select(Notification.id, Notification.read_at)).all())
    assert read[a] is not None and read[b] is None
    client.post("/notifications/read-all")
    assert "No unread notifications" in client.get("/notifications/?show=unread").get_data(as_text=True)


def test_cannot_mark_someone_elses_notification(client, db_session):
    (other,) = notifications.notify("TEST", "Planner only", "p", user_ids=(_uid("planner"),))
    login_page(client, "qc")
    client.post(f"/notifications/{other}/read")
    assert db_session.get(Notification, other).read_at is None


def test_anonymous_is_sent_to_login(client, db_session):
    r = client.get("/notifications/")
    assert r.status_code in (302, 401, 403) and "/notifications/" not in r.headers.get("Location", "/x")[:14]

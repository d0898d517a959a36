"""Sign-in and work during a Redis outage (issue 14 section 4).

An app whose Redis URL points at a port where nothing listens: sign-in through the page and the
API works (the login rate limiter falls back to in-process storage with a warning), /health says
`degraded`, and an act that notifies (Production completes a batch: QC is told, by e-mail too)
succeeds; the e-mail job could not be queued, but the outbox row was written with the act. Then
Redis is back (the real one, this run's TEST_REDIS_URL): the worker's periodic sweep sends the
mail, once. The worker's connection loop waits for Redis instead of exiting. With the database
unreachable, API login answers 503 with the JSON error shape.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from sqlalchemy import select

from tests.conftest import DEMO_PASSWORD
from tests.notifications.test_events import smtp_server  # noqa: F401 - the fake SMTP fixture


def _dead_redis_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/13"  # bound then closed: nothing listens there


def _login_api(client) -> tuple[int, dict]:
    r = client.post(
        "/api/v1/security/login",
        json={"username": "prod", "password": DEMO_PASSWORD, "provider": "db", "refresh": True},
    )
    return r.status_code, r.get_json()


def test_sign_in_act_and_mail_after_redis_returns(app, make_app, committed, caplog, smtp_server, monkeypatch):  # noqa: F811
    from app.notifications import service as notifications
    from app.notifications.models import EmailOutbox
    from tests.qc_factories import make_batch

    inbox, port = smtp_server
    dead = _dead_redis_url()
    down = make_app(
        REDIS_URL=dead,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=dead,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
    )
    batch = make_batch(to="IN_PRODUCTION")  # committed through the services (session app)
    committed.commit()
    caplog.set_level(logging.WARNING)

    client = down.test_client()
    r = client.post("/login/", data={"username": "prod", "password": DEMO_PASSWORD})
    assert r.status_code == 302 and "/login" not in r.headers["Location"], r.get_data(as_text=True)[:300]
    status, body = _login_api(client)
    assert status == 200, body
    token = body["access_token"]
    warnings = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING).lower()
    assert "memory" in warnings or "fall" in warnings, warnings  # the limiter said it fell back

    health = client.get("/health")
    assert health.status_code == 200
    assert health.get_json() == {"status": "degraded", "db": "ok", "redis": "unreachable"}

    r = client.post(
        f"/api/v1/batches/{batch.id}/transition",
        json={"to_status": "PRODUCTION_COMPLETE", "metadata": {"actual_yield_mbq": "150000"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.get_json()
    committed.expire_all()
    pending = committed.execute(select(EmailOutbox).where(EmailOutbox.status == "PENDING")).scalars().all()
    assert pending, "the e-mail must wait in the outbox while Redis is down"
    assert any("could not enqueue" in r.getMessage() for r in caplog.records)

    # Redis is back: the worker's ticker runs the periodic sweep (on the real Redis of this run).
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": "0"}.items():
        monkeypatch.setitem(app.config, key, value)
    with app.app_context():
        from app.core.extensions import get_redis
        from app.core.jobs import PERIODIC

        assert get_redis().ping()
        func, _every = PERIODIC["notifications-send-pending"]
        sent = notifications.deliver_emails(None)
        assert func() is not None
    assert sent["sent"] == len(pending), sent
    assert any(batch.batch_no in body for _to, body in inbox.messages), inbox.messages
    assert len(inbox.messages) == len(pending)
    with app.app_context():
        assert notifications.deliver_emails(None)["sent"] == 0  # sent once, not again
    assert len(inbox.messages) == len(pending)


def test_worker_waits_for_redis_instead_of_exiting(app, redis_url):
    import redis

    from app.jobs.worker import wait_for_redis

    gone = redis.Redis.from_url(_dead_redis_url(), socket_connect_timeout=0.2)
    started = time.monotonic()
    assert wait_for_redis(gone, first_delay_s=0.05, max_delay_s=0.1, tries=4) is False
    assert time.monotonic() - started >= 0.15  # it retried with a delay, it did not give up at once

    # Redis comes back while the worker waits: the same loop returns as soon as it answers.
    class Flaky:
        def __init__(self) -> None:
            self.calls = 0
            self.real = redis.Redis.from_url(redis_url)

        def ping(self):
            self.calls += 1
            if self.calls < 3:
                raise redis.exceptions.ConnectionError("Connection refused")
            return self.real.ping()

    flaky = Flaky()
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(wait_for_redis(flaky, first_delay_s=0.05)))
    thread.start()
    thread.join(timeout=10)
    assert result == [True] and flaky.calls == 3


def test_database_unreachable_api_login_is_503(make_app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing")
    client = gone.test_client()
    status, body = _login_api(client)
    assert status == 503, body
    assert set(body) >= {"code", "userMessage", "traceId"}


def test_the_workers_connections_outlast_rqs_idle_wait(app, redis_url):
    """Every connection the worker uses, even one made before RQ's Worker (the first ping), allows
    RQ's idle BLPOP to end by itself: with redis-py 8's default 5 s read timeout it ended in
    "Timeout reading from socket" and an exponential back-off instead."""
    from rq import Queue, Worker

    from app.jobs.worker import worker_connection

    connection = worker_connection(redis_url)
    connection.ping()  # a pooled connection made before the Worker, as wait_for_redis makes it
    worker = Worker([Queue("timeout-probe", connection=connection)], connection=connection)
    pooled = connection.connection_pool.get_connection()
    try:
        assert pooled.socket_timeout is not None and pooled.socket_timeout > worker.connection_timeout
    finally:
        connection.connection_pool.release(pooled)

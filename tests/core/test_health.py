"""GET /health: what a load balancer or an operator checks."""

from __future__ import annotations


def test_health_reports_ok_with_database_and_redis(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "db": "ok", "redis": "ok"}


def test_health_needs_no_login_and_sets_no_session(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert "Set-Cookie" not in r.headers


def test_health_is_503_when_the_database_is_unreachable(make_app):
    # Port 1 on loopback refuses at once: no waiting for a timeout.
    broken = make_app(
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    r = broken.test_client().get("/health")
    assert r.status_code == 503
    body = r.get_json()
    assert body["db"] == "unreachable"
    assert body["status"] != "ok"


def test_health_reports_redis_down_without_failing(make_app):
    no_redis = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    r = no_redis.test_client().get("/health")
    assert r.status_code == 200  # the database is what pages need; jobs wait for Redis
    assert r.get_json() == {"status": "degraded", "db": "ok", "redis": "unreachable"}

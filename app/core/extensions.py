"""Extension objects, created unbound: nothing connects at import time."""

from __future__ import annotations

from flask import current_app
from flask_appbuilder import Model
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from rq import Queue

# FAB's Model carries its own MetaData; sharing it lets Alembic see FAB's and our tables together.
db = get_sqla_class()(metadata=Model.metadata)
migrate = Migrate()
csrf = CSRFProtect()


def get_appbuilder():
    return current_app.appbuilder  # type: ignore[attr-defined]


def get_redis() -> Redis:
    """One Redis client per app, made on first use."""
    client = current_app.extensions.get("redis")
    if client is None:
        client = Redis.from_url(current_app.config["REDIS_URL"])
        current_app.extensions["redis"] = client
    return client


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())

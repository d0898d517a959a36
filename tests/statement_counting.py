"""Counting the SQL statements a request sends (issue 16's pinned budgets)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.core.extensions import db


@pytest.fixture
def permissions_version_read_once(app, monkeypatch):
    """The permission cache re-reads the permissions version every ~2 s: not inside a counted request."""
    monkeypatch.setitem(app.config, "RP_PERMISSIONS_VERSION_TTL_S", 3600)


@contextmanager
def counted(engine: Engine | None = None, *, version_reads: bool = False) -> Iterator[list[str]]:
    """The statements sent inside the block on `engine` (the current app's by default), the tests'
    savepoints left out, and the permission cache's own version re-read unless `version_reads` (after
    a role change in this process it re-reads for a while; the permission cache's tests count it)."""
    seen: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
            return
        if not version_reads and "rp_permissions_version" in statement:
            return
        seen.append(statement)

    engine = engine if engine is not None else db.engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)

"""Small SQL building blocks shared by the parts' queries, and a lean way to run hot reads."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

import psycopg
from psycopg.pq import ExecStatus
from psycopg.rows import namedtuple_row, tuple_row
from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from app.core.extensions import db

TUPLES_OK = ExecStatus.TUPLES_OK


def any_of(
    column: Any, values: Iterable[Any], name: str | None = None, item_type: Any = None
) -> ColumnElement[bool]:
    """`column = ANY(:array)`: one array parameter instead of `IN (:p1, ..., :pn)`.

    The statement text is the same whatever the number of values, so SQLAlchemy compiles it once and
    psycopg prepares it once (an IN list is re-rendered for every request and is a new statement for
    every length: a page of 50 batch ids sent 50 parameters three times per list request). PostgreSQL
    plans `= ANY(array)` like IN: an index on the column is used the same way. `name` names the
    parameter (for `fetch`, which passes values by name)."""
    return column == any_(bindparam(name, list(values), type_=ARRAY(item_type or column.type)))


# --- hot statements: compiled once, run on the session's connection through the driver's cursor ----
# SQLAlchemy spends about 0.3 ms per statement building its cache key, its execution context and
# its result rows (measured on the batch list's page query: 0.73 ms through the session, 0.44 ms
# through the cursor for the same prepared statement). The hottest reads (the batch list, detail and
# their counts) and the statements of a batch move (lock, move, audit chain, audit rows) compile once
# per shape and run here: same SQL text, same transaction and connection as the session, and the
# engine's cursor events still fire (statement counters, the read-only commit, the benchmarks' raw
# replays see every statement). Bind values go through their types' bind processors as SQLAlchemy
# would send them (a JSONB value is wrapped for psycopg, a None for a JSONB parameter is the JSON
# null it always was), so what is stored does not change.
def _send(conn: Connection, cursor: Any, sql: str, values: dict[str, Any]) -> None:
    """Run `sql` on the driver's cursor, firing the engine's cursor events around it."""
    dispatch = conn.dispatch
    if dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(conn, cursor, sql, values, None, False)
    cursor.execute(sql, values)
    if dispatch.after_cursor_execute:
        dispatch.after_cursor_execute(conn, cursor, sql, values, None, False)


_EXECUTABLE: dict[Hashable, tuple[str, dict[str, Any], tuple[tuple[str, Callable[[Any], Any]], ...]]] = {}


def _prepared(key: Hashable, build: Callable[[], Any], params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The statement's text (compiled once per key) and `params` as SQLAlchemy would bind them."""
    entry = _EXECUTABLE.get(key)
    if entry is None:
        dialect = db.engine.dialect
        compiled = build().compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        found = []
        for name, param in compiled.binds.items():
            processor = param.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                found.append((name, processor))
        entry = _EXECUTABLE[key] = (str(compiled), dict(compiled.params), tuple(found))
    sql, defaults, processors = entry
    values = {**defaults, **params}
    for name, processor in processors:
        values[name] = processor(values[name])
    return sql, values


def execute(
    key: Hashable,
    build: Callable[[], Any],
    params: dict[str, Any],
    *,
    connection: Connection | None = None,
    plain: bool = False,
) -> list[Any]:
    """Run the statement `build()` returns (compiled once per `key`, as in `fetch`) in the session's
    transaction (or on `connection`, a session's connection); the rows it returns (named tuples; plain
    tuples with `plain`, for reads of many thousand rows), [] for a statement that returns none.

    Errors come as SQLAlchemy's (`OperationalError` with the driver's LockNotAvailable in `.orig`,
    `IntegrityError` ...), as `session.execute` would raise them; a lost connection is invalidated
    so the pool replaces it, as SQLAlchemy does for its own statements."""
    sql, values = _prepared(key, build, params)
    conn = connection if connection is not None else db.session.connection()
    factory = tuple_row if plain else namedtuple_row
    cursor = conn.connection.driver_connection.cursor(row_factory=factory)  # type: ignore[union-attr]
    try:
        _send(conn, cursor, sql, values)
        # rows only from a statement that returns some (the result's status, not `description`: that
        # builds a column object per column just to be tested for None)
        result = cursor.pgresult
        return cursor.fetchall() if result is not None and result.status == TUPLES_OK else []
    except psycopg.Error as err:
        if conn.dialect.is_disconnect(err, conn.connection.dbapi_connection, cursor):
            conn.invalidate(err)
        raise DBAPIError.instance(sql, values, err, psycopg.Error) from err
    finally:
        cursor.close()


def fetch(key: Hashable, build: Callable[[], Select], params: dict[str, Any]) -> list[Any]:
    """Rows (named tuples) of the SELECT `build()` returns, with `params` for its named bind
    parameters. `key` names the statement's shape: one compile per key and process, so every
    statement of one key must have the same parameter names (give the bind parameters this call's
    values: constant IN lists are written into the text, which needs every value at compile time)."""
    return execute(key, build, params)

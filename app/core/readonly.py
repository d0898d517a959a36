"""A request that only read ends its transaction with COMMIT, not ROLLBACK (issue 16).

psycopg forgets every statement a connection had prepared at each ROLLBACK (an object one of them
used may have gone with the transaction). Closing the session at the end of a request rolls back,
so every request planned its reads again: at 100,000 batches the list's page query takes about
1.9 ms to plan and 0.7 ms to run. A transaction that sent only SELECTs has nothing to undo: at the
end of a request it is committed instead, which changes no data and keeps the prepared statements.

Rules:
- Any statement that is not a SELECT (INSERT, UPDATE, DELETE, WITH, DDL, SAVEPOINT, ...) marks the
  transaction as writing; it is then rolled back at the end of the request exactly as before (the
  services commit their own work; what is left over must not be kept).
- A request answered with an error (4xx, 5xx) or ended by an exception is never committed.
- SELECT ... FOR UPDATE only locks: committing releases its locks the same way a rollback does.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
WROTE = "rp_wrote"
AUTOCOMMIT = "rp_autocommit"
CONNECTION = "rp_connection"


def _reset(conn: Any) -> None:
    conn.info[WROTE] = False


def _watch(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    if not conn.info.get(WROTE) and not _is_select(statement):
        conn.info[WROTE] = True


def _is_select(statement: str) -> bool:
    head = statement.lstrip()[:7].upper()
    return head.startswith("SELECT") and head[6:7] in (" ", "\n", "\t", "\r", "")


def _remember(session: Session, transaction: Any, connection: Any) -> None:
    session.info[CONNECTION] = connection


def only_read(session: Session) -> bool:
    """True when the session's open transaction has a connection and sent nothing but SELECTs."""
    conn = session.info.get(CONNECTION)
    if conn is None or not session.in_transaction() or conn.closed or not conn.in_transaction():
        return False
    return conn.info.get(WROTE) is False


def install() -> None:
    for target, name, fn in (
        (Engine, "begin", _reset),
        (Engine, "before_cursor_execute", _watch),
        (Session, "after_begin", _remember),
    ):
        if not event.contains(target, name, fn):
            event.listen(target, name, fn)


def reads_only(db: Any) -> None:
    """Declare that this request only reads (the hot list, detail and timeline endpoints): its
    statements run on a connection in autocommit, so no BEGIN and no COMMIT round trip. Nothing is
    lost: under READ COMMITTED (PostgreSQL's default, ours) every statement of a transaction takes
    its own snapshot anyway. Only when the session has not begun yet (the sign-in check may have
    read the permissions version: then the request keeps its transaction)."""
    session = db.session()
    if session.in_transaction() or not isinstance(session.get_bind(), Engine):
        return  # already begun, or bound to a caller's connection (the tests' rolled-back one)
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[AUTOCOMMIT] = True  # nothing to commit at the end: the session just closes


def init_readonly_commit(app: Flask, db: Any) -> None:
    install()

    @app.after_request
    def _commit_reads(response: Response) -> Response:
        if response.status_code >= 400:
            return response  # refused or failed: rolled back when the session closes, as before
        session = db.session()
        if session.info.get(AUTOCOMMIT):
            return response
        if only_read(session):
            try:
                session.commit()
            except Exception:  # a broken connection: the session's close rolls back and replaces it
                log.warning("could not end a read-only transaction with COMMIT", exc_info=True)
                session.rollback()
        return response

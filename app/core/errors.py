"""Translate errors once: JSON for /api/, a friendly page or flash for browser pages.

No response ever carries a stack trace, SQL or a hash; the trace id links a report to the logs.
"""

from __future__ import annotations

import logging

from flask import Flask, flash, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from app.core.api_errors import error_body, error_response
from app.core.domain import DomainError
from app.core.extensions import db
from app.core.tracing import current_trace_id

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _page(status: int, code: str | None = None, message: str | None = None):
    body = error_body(status, code, message)
    try:
        appbuilder = _appbuilder()
        html = render_template(
            "core/error.html",
            status=status,
            error=body,
            appbuilder=appbuilder,
            base_template=appbuilder.base_template,
        )
    except Exception:  # the error page must never fail; fall back to plain text
        log.exception("error page failed trace_id=%s", body["traceId"])
        html = f"{body['userMessage']} (reference {body['traceId']})"
    return html, status


def _appbuilder():
    from flask import current_app

    return current_app.appbuilder  # type: ignore[attr-defined]


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(err: DomainError):
        db.session.rollback()
        if wants_json():
            return error_response(err.status, err.code, err.user_message, err.details or None)
        if request.method == "POST" and request.referrer:
            flash(err.user_message, "danger")
            return redirect(request.referrer)
        return _page(err.status, err.code, err.user_message)

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):
        msg = "Your form expired or was sent from another page. Reload the page and try again."
        if wants_json():
            return error_response(400, "CSRF_FAILED", msg)
        return _page(400, "CSRF_FAILED", msg)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        status = err.code or 500
        if wants_json():
            return error_response(status)
        return _page(status)

    @app.errorhandler(DataError)
    def _bad_value(err: DataError):
        # A value the database cannot hold (a number out of range, a malformed date) that no
        # parser caught: the client's input, so 422, never a 500. The log keeps the SQL detail.
        log.warning("value refused by the database trace_id=%s: %s", current_trace_id(), err.orig)
        db.session.rollback()
        msg = "A value is out of range or not in the expected format."
        if wants_json():
            return error_response(422, "VALIDATION_ERROR", msg)
        return _page(422, "VALIDATION_ERROR", msg)

    @app.errorhandler(OperationalError)
    def _db_down(err: OperationalError):
        log.exception("database error trace_id=%s", current_trace_id())
        db.session.rollback()
        if wants_json():
            return error_response(503)
        return _page(503)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error trace_id=%s", current_trace_id())
        try:
            db.session.rollback()
        except Exception:  # pragma: no cover - the session may itself be broken
            pass
        if wants_json():
            return error_response(500)
        return _page(500)

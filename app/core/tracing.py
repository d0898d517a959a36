"""Every request carries a trace id: an incoming X-Request-ID is kept, otherwise one is made.

It is stored on audit rows and batch events, returned in the `X-Request-ID` response header and
in every error body, so a user's screenshot of an error leads straight to the log lines.
"""

from __future__ import annotations

import re
import uuid

from flask import Flask, g, has_request_context, request

_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_trace_id() -> str:
    return uuid.uuid4().hex


def current_trace_id() -> str:
    if has_request_context():
        trace = getattr(g, "trace_id", None)
        if trace is None:
            trace = g.trace_id = new_trace_id()
        return trace
    return new_trace_id()


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def init_tracing(app: Flask) -> None:
    @app.before_request
    def _assign_trace_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.trace_id = incoming if _SAFE.match(incoming) else new_trace_id()

    @app.after_request
    def _echo_trace_id(response):
        response.headers["X-Request-ID"] = current_trace_id()
        return response

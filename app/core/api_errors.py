"""The API's one error shape: {"code", "userMessage", "traceId"} (+ "details" for 422)."""

from __future__ import annotations

import re
import sys
from typing import Any

from flask import jsonify, make_response
from flask.wrappers import Response

from app.core.guards import INT32_MAX
from app.core.tracing import current_trace_id

_DEFAULT_MESSAGES = {
    400: (
        "BAD_REQUEST",
        "The request could not be read. Check that it is valid JSON with the expected fields.",
    ),
    401: ("UNAUTHENTICATED", "Please sign in again: no valid access token was sent."),
    403: ("FORBIDDEN", "You do not have permission to do this."),
    404: ("NOT_FOUND", "The record was not found."),
    405: ("METHOD_NOT_ALLOWED", "This action is not available on this address."),
    409: ("CONFLICT", "The record was changed by someone else. Reload and try again."),
    413: ("PAYLOAD_TOO_LARGE", "The upload is too large."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "This type of content is not accepted."),
    422: ("VALIDATION_ERROR", "Some fields are not valid."),
    429: ("TOO_MANY_REQUESTS", "Too many attempts. Wait a minute and try again."),
    500: ("INTERNAL_ERROR", "Something went wrong on our side. The trace id helps support find it."),
    503: ("UNAVAILABLE", "The service is temporarily unavailable."),
}


def error_body(
    status: int,
    code: str | None = None,
    user_message: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    default_code, default_message = _DEFAULT_MESSAGES.get(status, ("ERROR", "The request failed."))
    body: dict[str, Any] = {
        "code": code or default_code,
        "userMessage": user_message or default_message,
        "traceId": current_trace_id(),
    }
    if details:
        body["details"] = details
    return body


def error_response(
    status: int,
    code: str | None = None,
    user_message: str | None = None,
    details: dict[str, Any] | None = None,
) -> Response:
    resp = make_response(jsonify(error_body(status, code, user_message, details)), status)
    resp.headers["Content-Type"] = "application/json; charset=utf-8"
    return resp


def _fields_from_messages(message: Any) -> dict[str, Any] | None:
    return message if isinstance(message, dict) else None


class ApiErrorsMixin:
    """Overrides FAB's response helpers so generated and custom APIs answer alike."""

    def response_400(self, message: Any = None) -> Response:
        fields = _fields_from_messages(message)
        if fields:
            return error_response(422, "VALIDATION_ERROR", "Some fields are not valid.", {"fields": fields})
        return error_response(400)

    def response_422(self, message: Any = None) -> Response:
        fields = _fields_from_messages(message)
        text = message if isinstance(message, str) else None
        return error_response(
            422, "VALIDATION_ERROR", _friendly_422(text), {"fields": fields} if fields else None
        )

    def response_401(self) -> Response:
        return error_response(401)

    def response_403(self) -> Response:
        return error_response(403)

    def response_404(self) -> Response:
        return error_response(404)

    def response_500(self, message: Any = None) -> Response:
        # FAB's @safe (login, generated CRUD) turns every exception into a 500; an unreachable
        # database is a 503 like everywhere else (issue 14: API login during a database outage).
        from sqlalchemy.exc import OperationalError

        if isinstance(sys.exc_info()[1], OperationalError):
            return error_response(503)
        return error_response(500)

    def add_api_spec(self, api_spec: Any) -> None:
        """FAB's spec plus what its docstring parser leaves out (issue 14): every path parameter of
        every operation (integers within PostgreSQL's range where the route says `<int:...>`) and a
        JSON request body for each POST/PUT/PATCH that does not describe its own."""
        super().add_api_spec(api_spec)  # type: ignore[misc]
        complete_api_spec(self, api_spec)


def _friendly_422(text: str | None) -> str:
    if not text:
        return "Some fields are not valid."
    # FAB passes database integrity messages through; never show SQL to users.
    lowered = text.lower()
    if "unique" in lowered or "duplicate" in lowered:
        return "A record with the same unique value already exists."
    if "foreign key" in lowered or "violates" in lowered or "integrity" in lowered:
        return "This change conflicts with related records."
    return "Some fields are not valid."


_PATH_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def complete_api_spec(api: Any, api_spec: Any) -> None:
    paths = api_spec._paths
    for attr_name in dir(api):
        attr = getattr(api, attr_name, None)
        for url, methods in getattr(attr, "_urls", ()):
            if attr_name in api.exclude_route_methods:
                continue
            if api.include_route_methods is not None and attr_name not in api.include_route_methods:
                continue
            path = api.path_helper(path=url, operations={})
            converters = {name: conv for conv, name in _PATH_ARG.findall(url)}
            for method in methods:
                op = paths.get(path, {}).get(method.lower())
                if op is None:
                    continue
                params = op.setdefault("parameters", [])
                have = {p.get("name") for p in params if p.get("in") == "path"}
                for name, conv in converters.items():
                    if name in have:
                        continue
                    schema: dict[str, Any] = {"type": "string", "minLength": 1}
                    if conv == "int":
                        schema = {"type": "integer", "minimum": 0, "maximum": INT32_MAX}
                    params.append({"in": "path", "name": name, "required": True, "schema": schema})
                if method in ("POST", "PUT", "PATCH") and "requestBody" not in op:
                    op["requestBody"] = {
                        "required": False,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                if not params:
                    op.pop("parameters")

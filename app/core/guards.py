"""Hostile input stops at the door, before any view parses it (issue 14, section 2).

One `before_request` check for every page and API, so no handler has to remember it:
- a path id beyond a PostgreSQL `integer` (2**31 - 1) names no record: 404 (it used to reach the
  database and fail with a 500 "integer out of range");
- a NUL byte in the query string, a form field or a JSON string is refused with 422 (PostgreSQL text
  cannot hold it; psycopg raised a 500);
- JSON bodies larger than JSON_MAX_BYTES (1 MiB) are refused with 413 before they are read
  (uploads keep their own limit, MAX_CONTENT_LENGTH and QC_ATTACHMENT_MAX_BYTES);
- JSON nested deeper than JSON_MAX_DEPTH is refused with 400 (Python's parser raised RecursionError);
- a body sent as JSON that is not JSON (cut off, a stray word) is refused with 400 BAD_REQUEST, one
  answer for every endpoint (each handler's own parse saw None and answered 422; issue 13 asks 400:
  the request could not be read, as opposed to well-formed JSON whose fields are wrong, which stays 422);
- FAB's rison `q` with a page or page size that is negative or beyond 32 bits is refused with 422.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from app.core.domain import DomainError, ValidationFailed

INT32_MAX = 2**31 - 1
DEFAULT_JSON_MAX_BYTES = 1024 * 1024
DEFAULT_JSON_MAX_DEPTH = 64
_PAGE_KEYS = ("page", "page_size")
FLOAT_MAX = 1e300


class BadJson(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__("BAD_REQUEST", message, 400)


def _nul(field: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field} contains a NUL character, which no text field can hold.", {field: ["NUL character."]}
    )


def check_path_ids(view_args: dict[str, Any] | None) -> None:
    for key, value in (view_args or {}).items():
        if isinstance(value, str) and (key == "pk" or key == "id" or key.endswith("_id")):
            digits = value[1:] if value.startswith("-") else value
            if digits.isdigit():  # FAB's ModelViews take `<pk>` as a string
                value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= INT32_MAX:
            raise NotFound()


def check_query(args) -> None:
    for key, values in args.lists():
        if "\x00" in key:
            raise _nul("query")
        for value in values:
            if "\x00" in value:
                raise _nul(key)
    q = args.get("q")
    if q:
        check_rison(q)


def check_rison(q: str) -> None:
    """FAB reads `page` and `page_size` from `q`; out-of-range numbers reached SQL OFFSET/LIMIT."""
    import prison

    try:
        parsed = prison.loads(q)
    except prison.decoder.ParserException:
        return  # FAB answers malformed rison with its own 400
    except Exception as err:  # noqa: BLE001 - prison raises ValueError on numbers like 2.3e+101, FAB does not catch it
        raise DomainError("BAD_REQUEST", "The q parameter could not be read (not valid rison).", 400) from err
    if not isinstance(parsed, dict):
        return
    for key in _PAGE_KEYS:
        value = parsed.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT32_MAX:
            raise ValidationFailed(
                f"{key} must be a whole number from 0 to {INT32_MAX}.",
                {key: [f"Between 0 and {INT32_MAX}."]},
            )


def _walk(value: Any, depth: int, limit: int, path: str) -> None:
    if depth > limit:
        raise BadJson(f"The JSON body is nested more than {limit} levels deep.")
    if isinstance(value, str):
        if "\x00" in value:
            raise _nul(path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise _nul("body")
            _walk(item, depth + 1, limit, key if not path else f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1, limit, path)


def _float(text: str) -> float:
    """A JSON number a float cannot hold (1e-400 reads as 0.0, 1e400 as infinity) is refused: it
    would be stored as another value than the one sent."""
    value = float(text)
    mantissa = text.lower().split("e")[0]
    if math.isinf(value) or (value == 0.0 and any(c in "123456789" for c in mantissa)):
        raise ValidationFailed(
            f"The number {text[:40]} is outside what can be stored: send a value between "
            f"-{FLOAT_MAX:.0e} and {FLOAT_MAX:.0e} with at most 15 significant digits.",
            {"body": [f"Number out of range: {text[:40]}"]},
        )
    return value


def check_json_body() -> None:
    limit = current_app.config.get("JSON_MAX_BYTES", DEFAULT_JSON_MAX_BYTES)
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    request.max_content_length = limit  # a chunked body stops at the limit while it is read
    raw = request.get_data(cache=True)
    if not raw:
        return
    try:
        parsed = json.loads(raw, parse_float=_float)
    except RecursionError:
        raise BadJson("The JSON body is nested too deeply.") from None
    except ValueError:  # includes UnicodeDecodeError
        raise BadJson("The request body is not valid JSON. Check the brackets, quotes and commas.") from None
    _walk(parsed, 0, current_app.config.get("JSON_MAX_DEPTH", DEFAULT_JSON_MAX_DEPTH), "")


def check_form() -> None:
    for key, values in request.form.lists():
        if any("\x00" in v for v in values) or "\x00" in key:
            raise _nul(key)


def init_guards(app: Flask) -> None:
    @app.before_request
    def _guard_input() -> None:
        check_path_ids(request.view_args)
        check_query(request.args)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if request.mimetype == "application/json" or request.mimetype.endswith("+json"):
                check_json_body()
            elif request.mimetype == "application/x-www-form-urlencoded":
                check_form()

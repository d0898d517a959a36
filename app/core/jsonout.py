"""JSON answers of the API, encoded once by orjson (issue 16: encoding was a sixth of a list request).

Rules kept from the json.dumps encoders it replaces: instants as ISO 8601 UTC with "Z" (the database
session runs in UTC, so every time read from it is UTC; a time in another zone keeps its offset and
stays the same instant), dates as ISO dates, activities (Decimal MBq) as numbers, text as UTF-8.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
from flask import Response

OPTIONS = orjson.OPT_UTC_Z
# Keys that are not text (ids as dict keys) are written as text; orjson's option for them costs a
# quarter of a list page's encoding, so it is used only for a body that has such keys.
OPTIONS_ANY_KEYS = OPTIONS | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_default, option=OPTIONS)
    except orjson.JSONEncodeError as err:
        if not str(err).startswith("Dict key must be str"):  # anything else is a real error
            raise
        return orjson.dumps(value, default=_default, option=OPTIONS_ANY_KEYS)


def iso_utc(value: dt.datetime) -> str:
    """One instant as the API writes it ("2026-03-29T01:30:00Z"), for CSV cells and the like."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def json_response(status: int, body: Any) -> Response:
    return Response(dumps(body), status=status, mimetype="application/json")


def fragment(text: str | bytes | None) -> Any:
    """JSON text already encoded (by the database) placed as it is inside an answer."""
    return None if text is None else orjson.Fragment(text)

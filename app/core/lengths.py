"""Text longer than its column is refused, never cut (issue 14: a 10 MB reason was stored as its
first 2,000 characters, which is data loss in a GMP record).

One guard for every service: before each flush, every new or changed row's string values are
compared with the column lengths declared on the models; the first too-long value raises a 422 that
names the field and its limit. `text_input` is the parser-side helper: a reason or note must be a
string (an object is refused, not stored as "{'a': 1}").
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Session

from app.core.domain import ValidationFailed

# Free-text notes and reasons (Text columns): long enough for any real explanation; longer is refused.
NOTE_MAX = 2000


def too_long(field: str, limit: int) -> ValidationFailed:
    return ValidationFailed(
        f"{field} is longer than {limit} characters. Shorten it; nothing was saved.",
        {field: [f"At most {limit} characters."]},
    )


def text_input(
    value: Any, field: str, *, limit: int | None = None, numbers_as_text: bool = False
) -> str | None:
    """A client's free text: None/"" -> None, a string stripped, anything else 422 (a JSON number
    where text is expected is a client error: `site_code: 5`). `numbers_as_text` is for fields where a
    number is a legitimate answer typed as text (a QC text result such as "7")."""
    if value is None:
        return None
    if numbers_as_text and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be text.", {field: ["Not text."]})
    value = value.strip()
    if limit is not None and len(value) > limit:
        raise too_long(field, limit)
    return value or None


@functools.cache
def _limits(mapper: Any) -> tuple[tuple[str, int], ...]:
    """(attribute, length) of a mapped class's String columns with a declared length: read once per
    class (the guard runs on every row of every flush and on every batch move)."""
    out = []
    for attr in mapper.column_attrs:
        column_type = attr.columns[0].type
        length = getattr(column_type, "length", None)
        if length and isinstance(column_type, String):
            out.append((attr.key, length))
    return tuple(out)


def _check_row(obj: Any) -> None:
    state = inspect(obj)
    values = state.dict
    for key, length in _limits(state.mapper):
        value = values.get(key)
        if isinstance(value, str) and len(value) > length:
            raise too_long(key, length)


@event.listens_for(Session, "before_flush")
def _refuse_too_long(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.new) + list(session.dirty):
        _check_row(obj)

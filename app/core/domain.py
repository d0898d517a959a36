"""The one error type of the system.

Domain rules and services raise `DomainError`; the API turns it into
`{"code", "userMessage", "traceId"}` and pages show `user_message` in a flash or dialog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar


class DomainError(Exception):
    def __init__(
        self,
        code: str,
        user_message: str,
        status: int = 409,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {user_message}")
        self.code = code
        self.user_message = user_message
        self.status = status
        self.details = details or {}


class NotFound(DomainError):
    def __init__(self, what: str = "record") -> None:
        super().__init__("NOT_FOUND", f"The {what} was not found.", 404)


class Forbidden(DomainError):
    def __init__(self, user_message: str = "You do not have permission to do this.") -> None:
        super().__init__("FORBIDDEN", user_message, 403)


class ValidationFailed(DomainError):
    def __init__(self, user_message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__("VALIDATION_ERROR", user_message, 422, {"fields": fields or {}})


class TransitionRow(Protocol):
    """One row of a status table: the move `trigger` from `source` to `dest`."""

    @property
    def trigger(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def dest(self) -> str: ...
    @property
    def label(self) -> str: ...  # the button
    @property
    def done(self) -> str: ...  # the past participle in messages: "can't be dispatched"
    @property
    def needs_reason(self) -> bool: ...


Row = TypeVar("Row", bound=TransitionRow)


class TransitionTable(Generic[Row]):
    """A record's lifecycle as a literal table of moves (dose units, shipments): the buttons a page
    shows and the refusals in words come from the same rows, so the page and the API agree."""

    def __init__(self, thing: str, rows: Sequence[Row], labels: Mapping[str, str]) -> None:
        self.thing = thing  # "dose", "shipment": used in messages
        self.rows = tuple(rows)
        self.labels = dict(labels)
        self._by_key = {(r.source, r.trigger): r for r in self.rows}
        self._done = {r.trigger: r.done for r in self.rows}

    def label(self, status: str) -> str:
        return self.labels.get(status, status)

    def allowed(self, status: str) -> tuple[Row, ...]:
        """The moves open from `status` (the buttons a page shows)."""
        return tuple(r for r in self.rows if r.source == status)

    def check(self, status: str, trigger: str, reason: str | None = None) -> Row:
        """The row for `trigger` from `status`, or TRANSITION_NOT_ALLOWED (409) in words; a move that
        needs a reason and has none is refused with NOTE_REQUIRED (422)."""
        row = self._by_key.get((status, trigger))
        if row is None:
            raise DomainError("TRANSITION_NOT_ALLOWED", self._refusal(status, trigger), 409)
        if row.needs_reason and not (reason or "").strip():
            raise DomainError("NOTE_REQUIRED", f"Give a reason for cancelling this {self.thing}.", 422)
        return row

    def _refusal(self, status: str, trigger: str) -> str:
        if trigger not in self._done:
            return f"'{trigger}' is not an action on a {self.thing}."
        message = f"A {self.thing} that is {self.label(status)} can't be {self._done[trigger]}."
        open_moves = self.allowed(status)
        if open_moves:
            message += " Next: " + " or ".join(r.label.lower() for r in open_moves) + "."
        return message

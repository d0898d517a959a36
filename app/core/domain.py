"""The one error type of the system.

Domain rules and services raise `DomainError`; the API turns it into
`{"code", "userMessage", "traceId"}` and pages show `user_message` in a flash or dialog.
"""

from __future__ import annotations

from typing import Any


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

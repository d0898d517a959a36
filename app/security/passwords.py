"""Password policy: length only (NIST SP 800-63B), no composition rules."""

from __future__ import annotations

from flask import current_app
from flask_appbuilder.exceptions import PasswordComplexityValidationError


def validate_password(password: str) -> None:
    minimum = current_app.config.get("PASSWORD_MIN_LENGTH", 12)
    if password is None or len(password) < minimum:
        raise PasswordComplexityValidationError(
            f"Use at least {minimum} characters. A few unrelated words make a strong, memorable password."
        )

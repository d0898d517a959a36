"""One transaction per QC action: commit inside the service, roll back whatever it wrote on refusal."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from app.core.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def atomic(fn: F) -> F:
    """Roll back the session when the action raises (a DomainError or anything else), then re-raise.

    The page and API error handlers roll back too; this keeps jobs, seeds and tests that call the
    service directly from carrying half an action into their next statement.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise

    return wrapper  # type: ignore[return-value]

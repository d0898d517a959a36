"""Hard expiry: a batch past end of synthesis + shelf life is not released or moved downstream.

The QP review lists "Shelf life over" as a finding; this rule makes it a refusal (409 EXPIRED) for
every move that would put an expired product closer to a patient. Moves that take it out of
circulation (hold, reject, cancel, close) stay allowed. Times are compared as UTC instants; the
message names the expiry in the site's local time with its zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.core.domain import DomainError
from app.masterdata.domain.decay import instant_after, to_utc

# Destinations that move product towards a patient: release, dispensing, packing, dispatch.
BLOCKED_AFTER_EXPIRY = frozenset({"RELEASED", "DISPENSING_IN_PROGRESS", "PACKED", "DISPATCHED"})


def expires_at(end_of_synthesis: dt.datetime | None, shelf_life_min: int | None) -> dt.datetime | None:
    """End of synthesis + shelf life as a UTC instant; None while the synthesis has not ended."""
    if end_of_synthesis is None or not shelf_life_min:
        return None
    return instant_after(end_of_synthesis, shelf_life_min)


def is_expired(expiry: dt.datetime | None, now: dt.datetime) -> bool:
    return expiry is not None and to_utc(now) >= expiry


def local_text(at: dt.datetime, tz_name: str) -> str:
    """'25 Oct 2026 02:30 CEST (Europe/Berlin)'."""
    local = to_utc(at).astimezone(ZoneInfo(tz_name))
    return f"{local:%d %b %Y %H:%M} {local.tzname()} ({tz_name})"


def check_not_expired(
    batch_no: str, to_status: str, expiry: dt.datetime | None, now: dt.datetime, tz_name: str
) -> None:
    """Refuse (409 EXPIRED) a release or downstream move of a batch whose shelf life is over."""
    if to_status not in BLOCKED_AFTER_EXPIRY or not is_expired(expiry, now):
        return
    assert expiry is not None
    raise DomainError(
        "EXPIRED",
        f"Batch {batch_no} expired at {local_text(expiry, tz_name)} (end of synthesis + shelf life). "
        "An expired batch cannot be released, dispensed, packed or dispatched.",
        409,
        {"expired_at": expiry.isoformat()},
    )

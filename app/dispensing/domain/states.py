"""The dose unit lifecycle as data, and the release gate a dose inherits from its batch.

A dose unit moves PLANNED -> DISPENSED -> PACKED -> SHIPPED -> DELIVERED; only a planned dose may be
cancelled, and only with a reason (GMP: a dose that exists physically is never cancelled silently;
it goes through the deviation route instead).

The gate: a dose carries no release of its own, it inherits its batch's disposition (batch-level QC
and QP release). The batch state names are the batch part's (`app.batches.domain.states`); they are
repeated here as literals so this module needs nothing but `app.core`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.core.domain import DomainError, TransitionTable
from app.dispensing.domain.clock import local_text, to_utc

# --- Dose unit state machine --------------------------------------------------------------------
DOSE_STATES = ("PLANNED", "DISPENSED", "PACKED", "SHIPPED", "DELIVERED", "CANCELLED")
DOSE_STATE_LABELS = {
    "PLANNED": "Planned",
    "DISPENSED": "Dispensed",
    "PACKED": "Packed",
    "SHIPPED": "Shipped",
    "DELIVERED": "Delivered",
    "CANCELLED": "Cancelled",
}
FINAL_DOSE_STATES = frozenset({"DELIVERED", "CANCELLED"})


@dataclass(frozen=True)
class DoseTransition:
    trigger: str
    source: str
    dest: str
    label: str  # the button
    done: str  # the past participle used in messages: "can't be dispensed"
    needs_reason: bool = False


# fmt: off
DOSE_TRANSITIONS: tuple[DoseTransition, ...] = (
    DoseTransition("dispense", "PLANNED", "DISPENSED", "Dispense", "dispensed"),
    DoseTransition("pack", "DISPENSED", "PACKED", "Pack", "packed"),
    DoseTransition("ship", "PACKED", "SHIPPED", "Ship", "shipped"),
    DoseTransition("deliver", "SHIPPED", "DELIVERED", "Confirm delivery", "delivered"),
    DoseTransition("cancel", "PLANNED", "CANCELLED", "Cancel dose", "cancelled", needs_reason=True),
    # The shipment it was packed into was cancelled before dispatch: the dose waits to be packed again.
    DoseTransition("unpack", "PACKED", "DISPENSED", "Return to dispensed", "returned from its package"),
)
# fmt: on
DOSES: TransitionTable[DoseTransition] = TransitionTable("dose", DOSE_TRANSITIONS, DOSE_STATE_LABELS)
dose_state_label = DOSES.label
allowed_dose_transitions = DOSES.allowed
check_dose_transition = DOSES.check


# --- The release gate ---------------------------------------------------------------------------
# Batch states (names as in the batch part). Dispensing draws from the vial only while the batch is
# released and dispensing has not been closed; packing and dispatch of drawn doses go on after.
DISPENSABLE_BATCH_STATES = frozenset({"RELEASED", "DISPENSING_IN_PROGRESS"})
DISPENSING_FINISHED_BATCH_STATES = frozenset({"DISPENSED", "PACKED", "DISPATCHED", "CLOSED"})
SHIPPABLE_BATCH_STATES = frozenset(
    {"RELEASED", "DISPENSING_IN_PROGRESS", "DISPENSED", "PACKED", "DISPATCHED"}
)
# A batch in one of these may not be dispensed, packed or dispatched: no product leaves (GMP).
BLOCKED_BATCH_STATES = {"ON_HOLD": "is on hold", "REJECTED": "was rejected", "FAILED_QC": "failed QC"}


def check_can_dispense(
    batch_status: str,
    batch_expires_at: dt.datetime,
    now: dt.datetime,
    *,
    hold_reason: str | None = None,
    tz_name: str = "UTC",
) -> None:
    """Dispensing from a batch is allowed only after QP release, never from a blocked or expired batch.

    First refusal wins: BATCH_BLOCKED (on hold, rejected, failed QC; the QP's reason quoted),
    DISPENSING_FINISHED (the batch's dispensing was closed), DISPENSING_BEFORE_RELEASE (not released),
    EXPIRED (`now` at or after the batch expiry, shown in `tz_name`). All 409.
    """
    _check_not_blocked(batch_status, hold_reason, "dispensing")
    if batch_status in DISPENSING_FINISHED_BATCH_STATES:
        raise DomainError(
            "DISPENSING_FINISHED",
            "Dispensing of this batch is finished; no more doses can be drawn from it.",
            409,
        )
    if batch_status not in DISPENSABLE_BATCH_STATES:
        raise DomainError(
            "DISPENSING_BEFORE_RELEASE", "You can't start dispensing before QP releases the batch.", 409
        )
    _check_not_expired(batch_expires_at, now, tz_name, "dispensed")


def check_can_pack_or_dispatch(
    batch_status: str,
    hold_reason: str | None,
    expires_at: dt.datetime,
    now: dt.datetime,
    tz_name: str,
    *,
    what: str = "packing and dispatch",
) -> None:
    """Doses inherit their batch's disposition: a blocked, unreleased, closed or expired batch ships nothing.

    Refusals (409): BATCH_BLOCKED (the QP's reason quoted), BATCH_CLOSED, BATCH_NOT_RELEASED, EXPIRED.
    `what` names the act in the message ("packing", "dispatch").
    """
    _check_not_blocked(batch_status, hold_reason, what)
    if batch_status == "CLOSED":
        raise DomainError("BATCH_CLOSED", f"The batch record is closed; {what} is no longer possible.", 409)
    if batch_status not in SHIPPABLE_BATCH_STATES:
        raise DomainError(
            "BATCH_NOT_RELEASED", f"{what.capitalize()} must wait until QP releases the batch.", 409
        )
    _check_not_expired(expires_at, now, tz_name, "packed or dispatched")


def _check_not_blocked(batch_status: str, reason: str | None, what: str) -> None:
    why = BLOCKED_BATCH_STATES.get(batch_status)
    if why is None:
        return
    quoted = f"“{reason.strip()}”" if reason and reason.strip() else "no reason recorded"
    raise DomainError(
        "BATCH_BLOCKED",
        f"The batch {why} (QP's reason: {quoted}); {what} is blocked.",
        409,
        {"batch_status": batch_status},
    )


def _check_not_expired(expires_at: dt.datetime, now: dt.datetime, tz_name: str, done: str) -> None:
    """Expired from the expiry instant on (a dose is usable strictly before it)."""
    if to_utc(now, "current time") >= to_utc(expires_at, "expiry time"):
        raise DomainError(
            "EXPIRED",
            f"The batch expired at {local_text(expires_at, tz_name)}; it can no longer be {done}.",
            409,
            {"expired_at": to_utc(expires_at).isoformat()},
        )

"""The shipment lifecycle as data, and the chain of custody that accompanies it.

A shipment moves PLANNED -> PACKED -> DISPATCHED -> DELIVERED. It may be cancelled, with a reason,
while it is still in the house (PLANNED or PACKED); once handed to the courier it can only arrive.
The chain of custody records who held the package: packed and sealed, handed to the courier,
received at the hospital, in that order and once each (GDP: an unbroken chain of hand-overs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.domain import DomainError, TransitionTable

SHIPMENT_STATES = ("PLANNED", "PACKED", "DISPATCHED", "DELIVERED", "CANCELLED")
SHIPMENT_STATE_LABELS = {
    "PLANNED": "Planned",
    "PACKED": "Packed",
    "DISPATCHED": "Dispatched",
    "DELIVERED": "Delivered",
    "CANCELLED": "Cancelled",
}
FINAL_SHIPMENT_STATES = frozenset({"DELIVERED", "CANCELLED"})


@dataclass(frozen=True)
class ShipmentTransition:
    trigger: str
    source: str
    dest: str
    label: str  # the button
    done: str  # for messages: "can't be dispatched"
    needs_reason: bool = False
    custody: str | None = None  # the chain-of-custody entry this move records


# fmt: off
SHIPMENT_TRANSITIONS: tuple[ShipmentTransition, ...] = (
    ShipmentTransition("pack", "PLANNED", "PACKED", "Pack and seal", "packed", custody="PACKED"),
    ShipmentTransition("dispatch", "PACKED", "DISPATCHED", "Hand to courier", "dispatched",
                       custody="HANDED_TO_COURIER"),
    ShipmentTransition("deliver", "DISPATCHED", "DELIVERED", "Confirm delivery", "delivered", custody="RECEIVED"),
    ShipmentTransition("cancel", "PLANNED", "CANCELLED", "Cancel shipment", "cancelled", needs_reason=True),
    ShipmentTransition("cancel", "PACKED", "CANCELLED", "Cancel shipment", "cancelled", needs_reason=True),
)
# fmt: on
SHIPMENTS: TransitionTable[ShipmentTransition] = TransitionTable(
    "shipment", SHIPMENT_TRANSITIONS, SHIPMENT_STATE_LABELS
)
shipment_state_label = SHIPMENTS.label
allowed_shipment_transitions = SHIPMENTS.allowed
check_shipment_transition = SHIPMENTS.check


# --- Chain of custody ---------------------------------------------------------------------------
CUSTODY_KINDS = ("PACKED", "HANDED_TO_COURIER", "RECEIVED")
CUSTODY_LABELS = {
    "PACKED": "Packed and sealed",
    "HANDED_TO_COURIER": "Handed to courier",
    "RECEIVED": "Received by the hospital",
}


def custody_label(kind: str) -> str:
    return CUSTODY_LABELS.get(kind, kind)


def next_custody_kind(recorded: Sequence[str]) -> str | None:
    """The entry the chain expects next, or None when it is complete."""
    return CUSTODY_KINDS[len(recorded)] if len(recorded) < len(CUSTODY_KINDS) else None


def check_custody_entry(recorded: Sequence[str], kind: str) -> None:
    """A custody entry must be the next link of the chain: no gap, no repeat, no going back.

    Refused with CUSTODY_OUT_OF_ORDER (409); an unknown kind with INVALID_CUSTODY_KIND (422).
    """
    if kind not in CUSTODY_KINDS:
        raise DomainError("INVALID_CUSTODY_KIND", f"'{kind}' is not a chain-of-custody entry.", 422)
    expected = next_custody_kind(recorded)
    if kind != expected:
        need = f"the next entry is “{custody_label(expected)}”" if expected else "the chain is complete"
        raise DomainError(
            "CUSTODY_OUT_OF_ORDER", f"“{custody_label(kind)}” can't be recorded now: {need}.", 409
        )

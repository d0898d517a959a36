"""Stored batch fields that follow from the status (QC status, QP disposition, shipment status ...).

They are derived here from the status sequence, never set by hand, so they can't disagree with it;
`derive_history` replays a batch's events to the values it must have (tests check the stored ones).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.batches.domain.states import EXCEPTION_STATES, MAIN_PATH, POST_RELEASE, STATES

_QC_STATUS = {
    **dict.fromkeys(("PLANNED", "SCHEDULED", "IN_PRODUCTION", "PRODUCTION_COMPLETE"), "NOT_STARTED"),
    "QC_PENDING": "PENDING",
    "QC_IN_PROGRESS": "IN_PROGRESS",
    "FAILED_QC": "FAILED",
    **dict.fromkeys(MAIN_PATH[MAIN_PATH.index("QC_PASSED") :], "PASSED"),
}
_QP_DISPOSITION: dict[str, str | None] = {
    **dict.fromkeys(MAIN_PATH[: MAIN_PATH.index("QP_REVIEW")], None),
    "QP_REVIEW": "PENDING",
    **dict.fromkeys(POST_RELEASE, "RELEASED"),
    "ON_HOLD": "ON_HOLD",
    "REJECTED": "REJECTED",
}
_SHIPMENT_STATUS = {
    **dict.fromkeys(MAIN_PATH[: MAIN_PATH.index("PACKED")], "NOT_SHIPPED"),
    "PACKED": "PACKED",
    "DISPATCHED": "DISPATCHED",
    "CLOSED": "DISPATCHED",
}
QC_STATUSES = ("NOT_STARTED", "PENDING", "IN_PROGRESS", "PASSED", "FAILED")
QP_DISPOSITIONS = ("PENDING", "RELEASED", "ON_HOLD", "REJECTED")
SHIPMENT_STATUSES = ("NOT_SHIPPED", "PACKED", "DISPATCHED")
# Sorting "by status" means by progress along the path; exceptions after the main path.
STATUS_RANK = {s: i for i, s in enumerate(STATES)}
# Which timestamp a move stamps (first time only).
STAMPS = {
    "IN_PRODUCTION": "actual_start_at",
    "PRODUCTION_COMPLETE": "actual_end_at",
    "RELEASED": "released_at",
}


@dataclass(frozen=True)
class Derived:
    status: str
    qc_status: str
    qp_disposition: str | None
    shipment_status: str
    status_before_exception: str | None
    status_rank: int


def derive(dest: str, source: str | None, previous: Derived | None) -> Derived:
    """Stored fields after moving `source` -> `dest`: a status without its own value keeps the last one."""
    if dest in EXCEPTION_STATES:
        if source in EXCEPTION_STATES and previous is not None:
            before = previous.status_before_exception  # e.g. ON_HOLD -> REJECTED keeps where it stopped
        else:
            before = source
    else:
        before = None
    return Derived(
        status=dest,
        qc_status=_QC_STATUS.get(dest) or (previous.qc_status if previous else "NOT_STARTED"),
        qp_disposition=_QP_DISPOSITION.get(dest, previous.qp_disposition if previous else None),
        shipment_status=_SHIPMENT_STATUS.get(dest)
        or (previous.shipment_status if previous else "NOT_SHIPPED"),
        status_before_exception=before,
        status_rank=STATUS_RANK[dest],
    )


def derive_history(statuses: list[str]) -> Derived:
    """Replay a batch's status sequence (its events) to the fields it must have now."""
    current: Derived | None = None
    source: str | None = None
    for s in statuses:
        current = derive(s, source, current)
        source = s
    if current is None:
        raise ValueError("a batch has at least its creation event")
    return current

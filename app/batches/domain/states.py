"""Batch states: names, groups and the words shown for them (one map used everywhere)."""

from __future__ import annotations

MAIN_PATH = (
    "PLANNED",
    "SCHEDULED",
    "IN_PRODUCTION",
    "PRODUCTION_COMPLETE",
    "QC_PENDING",
    "QC_IN_PROGRESS",
    "QC_PASSED",
    "QP_REVIEW",
    "RELEASED",
    "DISPENSING_IN_PROGRESS",
    "DISPENSED",
    "PACKED",
    "DISPATCHED",
    "CLOSED",
)
EXCEPTION_STATES = ("ON_HOLD", "REJECTED", "FAILED_QC", "CANCELLED", "DEVIATION_OPEN")
STATES = MAIN_PATH + EXCEPTION_STATES

STATE_LABELS = {
    "PLANNED": "Planned",
    "SCHEDULED": "Scheduled",
    "IN_PRODUCTION": "In Production",
    "PRODUCTION_COMPLETE": "Production Complete",
    "QC_PENDING": "QC Pending",
    "QC_IN_PROGRESS": "QC In Progress",
    "QC_PASSED": "QC Passed",
    "QP_REVIEW": "QP Review",
    "RELEASED": "Released",
    "DISPENSING_IN_PROGRESS": "Dispensing In Progress",
    "DISPENSED": "Dispensed",
    "PACKED": "Packed",
    "DISPATCHED": "Dispatched",
    "CLOSED": "Closed",
    "ON_HOLD": "On Hold",
    "REJECTED": "Rejected",
    "FAILED_QC": "Failed QC",
    "CANCELLED": "Cancelled",
    "DEVIATION_OPEN": "Deviation Open",
}

FINAL_STATES = frozenset({"REJECTED", "CANCELLED", "CLOSED"})
# A batch in one of these may not be dispensed, packed or dispatched (GMP: no product leaves).
BLOCKING_STATES = frozenset({"ON_HOLD", "REJECTED", "FAILED_QC"})
DOWNSTREAM_STATES = frozenset({"DISPENSING_IN_PROGRESS", "DISPENSED", "PACKED", "DISPATCHED"})
DISPENSING_STATES = frozenset({"DISPENSING_IN_PROGRESS", "DISPENSED"})
POST_RELEASE = frozenset(MAIN_PATH[MAIN_PATH.index("RELEASED") :])
# Active states the QP may hold. PRODUCTION_COMPLETE is left out: it moves on to QC_PENDING
# in the same transaction, so a batch never rests there.
HOLDABLE = tuple(s for s in MAIN_PATH if s not in ("PRODUCTION_COMPLETE", "CLOSED"))
DEVIATION_SOURCES = ("IN_PRODUCTION", "QC_PENDING", "QC_IN_PROGRESS", "QC_PASSED", "QP_REVIEW")

QC_ROLES = ("QC Analyst", "QC Reviewer", "QC Manager")
SYSTEM_ROLE = "System"
ADMIN_ROLE = "Admin"


def label(status: str | None) -> str:
    return STATE_LABELS.get(status or "", status or "—")

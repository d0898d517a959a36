"""The journey stepper: eight milestones computed from a batch's status and its status events.

Planned -> Production -> QC -> QP Release -> Dispensing -> Packing -> Dispatch -> Closed. Each is
done, current, pending or blocked, with the time and person of the move that completed (or started)
it (the planner for Planned). An exception state blocks the step the batch stopped at, with the reason in words; the step
Dispensing says what it waits for until the batch is released ("Blocked: QP Release pending").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.batches.domain.states import EXCEPTION_STATES


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    current_in: tuple[str, ...]  # the batch is at this step while in one of these
    done_by: str  # reaching this status completes the step
    # Whose work the step was, when that is not the move that ends it: a batch is planned by the
    # planner (the move into Planned or Scheduled), not by the operator who starts production.
    credited_to: tuple[str, ...] = ()


STEPS = (
    Step("planned", "Planned", ("PLANNED", "SCHEDULED"), "IN_PRODUCTION", ("PLANNED", "SCHEDULED")),
    Step("production", "Production", ("IN_PRODUCTION",), "PRODUCTION_COMPLETE"),
    Step("qc", "QC", ("PRODUCTION_COMPLETE", "QC_PENDING", "QC_IN_PROGRESS"), "QC_PASSED"),
    Step("qp_release", "QP Release", ("QC_PASSED", "QP_REVIEW"), "RELEASED"),
    Step("dispensing", "Dispensing", ("RELEASED", "DISPENSING_IN_PROGRESS"), "DISPENSED"),
    Step("packing", "Packing", ("DISPENSED",), "PACKED"),
    Step("dispatch", "Dispatch", ("PACKED",), "DISPATCHED"),
    Step("closed", "Closed", ("DISPATCHED",), "CLOSED"),
)
_STEP_OF = {s: i for i, step in enumerate(STEPS) for s in step.current_in} | {"CLOSED": len(STEPS)}

_BLOCKED = {
    "ON_HOLD": "Blocked: on hold by the QP",
    "FAILED_QC": "Blocked: QC failed",
    "REJECTED": "Rejected by the QP",
    "CANCELLED": "Cancelled",
    "DEVIATION_OPEN": "Blocked: deviation open",
}


@dataclass(frozen=True)
class Reached:
    """The latest move into a status: when, who, in which role, with what note."""

    at: dt.datetime
    by: str
    role: str
    note: str | None = None


def milestones(status: str, status_before_exception: str | None, reached: dict[str, Reached]) -> list[dict]:
    """The stepper for a batch; `reached` maps each status to its latest status event."""
    exception = status in EXCEPTION_STATES
    where = (status_before_exception if exception else status) or "PLANNED"
    at_step = _STEP_OF[where]
    out: list[dict] = []
    for i, step in enumerate(STEPS):
        item: dict = {"key": step.key, "label": step.label, "state": "pending", "at": None, "by": None,
                      "role": None, "blocked_reason": None}  # fmt: skip
        ev: Reached | None = None
        if i < at_step:
            item["state"] = "done"
            ev = _latest(reached, step.credited_to) if step.credited_to else reached.get(step.done_by)
        elif i == at_step and exception:
            ev = reached.get(status)
            note = ev.note if ev else None
            item["state"] = "blocked"
            item["blocked_reason"] = _BLOCKED[status] + (f": {note}" if note else "")
        elif i == at_step:
            item["state"], ev = "current", _latest(reached, step.current_in)
        elif step.key == "dispensing":  # the hard gate: nothing is dispensed before release
            item["blocked_reason"] = "Blocked: QP Release pending"
        if ev is not None:
            item.update(at=ev.at, by=ev.by, role=ev.role)
        out.append(item)
    return out


def _latest(reached: dict[str, Reached], statuses: tuple[str, ...]) -> Reached | None:
    found = [reached[s] for s in statuses if s in reached]
    return max(found, key=lambda r: r.at) if found else None

"""How each batch state looks (tone + icon; the words come from the state table)."""

from __future__ import annotations

from app.batches.domain.states import EXCEPTION_STATES, MAIN_PATH, STATE_LABELS
from app.core.ui import Look, register_looks


def _batch(status: str, tone: str, icon: str) -> tuple[str, Look]:
    return status, Look(STATE_LABELS[status], tone, icon)


# fmt: off
BATCH_STATUS: dict[str, Look] = dict((
    _batch("PLANNED", "neutral", "calendar"),
    _batch("SCHEDULED", "plan", "calendar-check"),
    _batch("IN_PRODUCTION", "work", "cogs"),
    _batch("PRODUCTION_COMPLETE", "work", "flask"),
    _batch("QC_PENDING", "qc", "hourglass-half"),
    _batch("QC_IN_PROGRESS", "qc", "microscope"),
    _batch("QC_PASSED", "qc", "clipboard-check"),
    _batch("QP_REVIEW", "qp", "user-check"),
    _batch("RELEASED", "ok", "certificate"),
    _batch("DISPENSING_IN_PROGRESS", "ok", "syringe"),
    _batch("DISPENSED", "ok", "vials"),
    _batch("PACKED", "ok", "box"),
    _batch("DISPATCHED", "done", "truck"),
    _batch("CLOSED", "done", "archive"),
    _batch("ON_HOLD", "warn", "pause-circle"),
    _batch("DEVIATION_OPEN", "warn", "exclamation-triangle"),
    _batch("FAILED_QC", "bad", "times-circle"),
    _batch("REJECTED", "bad", "ban"),
    _batch("CANCELLED", "muted", "times"),
))
# fmt: on

# The status filter shows the main path and the exceptions as two groups.
STATUS_GROUPS = (("Main path", MAIN_PATH), ("Exceptions", EXCEPTION_STATES))


def register(app) -> None:
    register_looks("batch", BATCH_STATUS, Look("—", "neutral", "circle"))
    app.jinja_env.globals["STATUS_GROUPS"] = STATUS_GROUPS

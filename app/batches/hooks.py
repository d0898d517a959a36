"""The seam between the batch lifecycle and QC, inverted so that `batches` never imports `qc`.

The batch machine needs four things from QC: make the new batch's QC session (a snapshot of the
product's ACTIVE template), the QC session status of one batch or of many, and the
session in a few words for the journey page. QC sits above
batches (its outcome moves batches through `app.batches.service`), so QC registers its
implementation here at start-up (`app.qc.register`). Without a registered gate a batch has no QC
session and never passes QC: the gate fails closed, never open.
"""

from __future__ import annotations

from typing import Any, Protocol


class QcGate(Protocol):
    def create_session_for_batch(self, batch: Any) -> Any: ...

    def session_status_for_batch(self, batch: Any) -> str | None: ...

    def session_statuses_for_batches(self, batch_ids: list[int]) -> dict[int, str]: ...

    def journey_summary(self, batch_id: int) -> dict[str, Any] | None: ...


_gate: QcGate | None = None


def register_qc_gate(gate: QcGate) -> None:
    """Called once by the QC part when the app starts."""
    global _gate
    _gate = gate


_created_listeners: list[Any] = []


def register_batch_created(listener: Any) -> None:
    """Another listener for new batches, `listener(batch)`, run in the creation's transaction after
    QC's session (e.g. the eBR snapshot)."""
    if listener not in _created_listeners:
        _created_listeners.append(listener)


def on_batch_created(batch: Any) -> None:
    """Snapshot the product's ACTIVE QC template into the batch's QC session (same transaction),
    then run the other registered listeners."""
    if _gate is not None:
        _gate.create_session_for_batch(batch)
    for listener in _created_listeners:
        listener(batch)


def qc_session_status(batch: Any) -> str | None:
    """The batch's QC session status (e.g. QC_PASSED), or None when the batch has no session."""
    return _gate.session_status_for_batch(batch) if _gate is not None else None


def qc_session_statuses(batch_ids: list[int]) -> dict[int, str]:
    """The same for many batches at once (one query), e.g. for a page of the batch list."""
    return _gate.session_statuses_for_batches(batch_ids) if _gate is not None else {}


def qc_journey_summary(batch_id: int) -> dict[str, Any] | None:
    """The QC session in a few words for the journey page, or None without one."""
    return _gate.journey_summary(batch_id) if _gate is not None else None


# --- the planner's minutes, for the batch list's Utilization card ---------------------------------
# The KPI part (above batches) registers how today's reserved / committed minutes are counted.
_utilization: Any = None


def register_utilization(provider: Any) -> None:
    """Called once by the planning part when the app starts: provider(now) -> dict with
    reserved_min, committed_min, total_min and reason (None when the figures are real)."""
    global _utilization
    _utilization = provider


def utilization(now: Any = None) -> dict[str, Any] | None:
    return _utilization(now) if _utilization is not None else None


# --- the KPI part's release lead time, for the batch list's lead-time card ----------------------
_release_lead: Any = None


def register_release_lead(provider: Any) -> None:
    """Called once by the KPI part: provider(t0, t1) -> {batches, avg_min, ...} of the batches
    released in [t0, t1), or None when none was."""
    global _release_lead
    _release_lead = provider


def release_lead(t0: Any, t1: Any) -> dict[str, Any] | None:
    return _release_lead(t0, t1) if _release_lead is not None else None


def has_release_lead() -> bool:
    return _release_lead is not None

"""What the batch part asks of QC (registered in `app.batches.hooks` by `app.qc.register`)."""

from __future__ import annotations

from typing import Any

from app.core.domain import NotFound
from app.qc import service as qc
from app.qc.domain import session_flow as flow
from app.qc.service import create_session_for_batch, session_status_for_batch, session_statuses_for_batches

__all__ = [
    "create_session_for_batch",
    "journey_summary",
    "session_status_for_batch",
    "session_statuses_for_batches",
]


def journey_summary(batch_id: int) -> dict[str, Any] | None:
    """The QC session in a few words (status, progress, failures) for the batch journey."""
    try:
        _, session = qc.get_session(batch_id)
    except NotFound:
        return None
    facts = qc.facts(session)
    total = len(facts.results)
    done = sum(1 for r in facts.results if r.status != "PENDING")
    return {
        "status": session.status,
        "status_label": flow.STATUS_LABELS.get(session.status, session.status),
        "completed": done,
        "total": total,
        "progress_text": f"{done}/{total} tests completed",
        "failed": [r.name for r in facts.failed],
        "warning": session.warning,
        "analyst": session.analyst_name,
        "reviewed_by": session.reviewed_by_name,
    }

"""Seams between the batch lifecycle and the QC module.

The batch services call these; the QC module (app/services/qc.py) implements them (imported at call
time: the QC services themselves move batches through app.services.batches). Without an active QC
template for its product a new batch has no QC session and cannot pass QC.
"""

from __future__ import annotations

from typing import Any


def on_batch_created(batch: Any) -> None:
    """Snapshot the product's ACTIVE QC template into the batch's QC session (same transaction)."""
    from app.services import qc

    qc.create_session_for_batch(batch)


def qc_session_status(batch: Any) -> str | None:
    """The batch's QC session status (e.g. QC_PASSED), or None when the batch has no session."""
    from app.services import qc

    return qc.session_status_for_batch(batch)


def qc_session_statuses(batch_ids: list[int]) -> dict[int, str]:
    """The same for many batches at once (one query), e.g. for a page of the batch list."""
    from app.services import qc

    return qc.session_statuses_for_batches(batch_ids)

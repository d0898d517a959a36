"""How the audit trail names batches (the batch number instead of "Batch 12")."""

from __future__ import annotations

from app.audit.labels import names_from, register_record_names
from app.batches.models import Batch


def register() -> None:
    register_record_names("Batch", names_from(Batch, lambda r: r.batch_no))

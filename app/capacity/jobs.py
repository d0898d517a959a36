"""RQ entry points for capacity: thin, taking ids, idempotent (they re-check the reservation)."""

from __future__ import annotations

from app.core.jobs import job


@job
def expire_reservation_job(reservation_id: int) -> bool:
    """Scheduled for a hold's `expires_at` (job id `reservation-expiry-<id>`): mark it EXPIRED."""
    from app.capacity.service import expire_reservation

    return expire_reservation(reservation_id)


@job
def expire_overdue_job() -> int:
    """The periodic sweep (every minute): expire every lapsed hold a lost job missed."""
    from app.capacity.service import expire_overdue

    return expire_overdue()

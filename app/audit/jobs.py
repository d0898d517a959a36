"""Scheduled checkpoint: verify the trail and anchor its head outside the database."""

from __future__ import annotations

import logging

from app.core.jobs import job

log = logging.getLogger(__name__)


@job
def anchor_chain() -> str:
    """Every AUDIT_ANCHOR_EVERY_SECONDS (hourly by default): verify, record and anchor the head."""
    from app.audit.service import verify_and_log

    result = verify_and_log("scheduled checkpoint")
    if not result.ok:
        log.error("audit trail verification failed: %s", result.message)
    return result.message

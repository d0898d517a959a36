"""Capacity: resource calendars, delivery windows and slots, time standards, reservations.

The bottleneck is dispensing minutes. A window publishes a number of minutes; reservations
(holds that expire, confirmed bookings) consume them. The pure rules live in `domain.py`.
"""

from __future__ import annotations


def register(appbuilder) -> None:
    """This part's APIs, pages, menu entries and periodic jobs."""
    from app.capacity import api, views
    from app.capacity.jobs import expire_overdue_job
    from app.core.jobs import register_periodic

    api.register(appbuilder)
    views.register(appbuilder)
    # Catches any hold whose scheduled expiry job was lost (Redis flushed, worker down).
    register_periodic("capacity-expire-overdue", expire_overdue_job, every_seconds=60)

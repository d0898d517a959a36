"""Who hears about a batch move (requirements 2.5): QC pending, released / held / rejected go
through the notification catalogue (`notify_event`: Admin's EN/AR templates, its recipients);
dispensing completed and dispatched keep their free-text notice until the dispensing and logistics
parts send their own events. Rows are written in the caller's transaction; e-mails go out only
after it commits.
"""

from __future__ import annotations

from sqlalchemy import select

from app.batches.domain.states import label
from app.batches.models import Batch, batch_customer
from app.core.actor import Actor
from app.core.extensions import db
from app.masterdata.models import CustomerUser
from app.notifications.service import notify, notify_event

# to_status -> catalogue event (recipients and wording live in app/notifications/events.py)
_EVENTS = {
    "QC_PENDING": "BATCH_QC_PENDING",
    "RELEASED": "BATCH_RELEASED",
    "ON_HOLD": "BATCH_ON_HOLD",
    "REJECTED": "BATCH_REJECTED",
}

# to_status -> (kind, title template, roles told) for the moves not yet in the catalogue
_WHO = {
    "DISPENSED": ("BATCH_DISPENSED", "Dispensing of {no} is complete", ("Logistics", "Planner")),
    "DISPATCHED": ("BATCH_DISPATCHED", "{no} was dispatched", ("Planner", "QP")),
}


def notify_after_move(batch: Batch, source: str, dest: str, actor: Actor, note: str | None) -> None:
    """Queue the notifications a move causes (same transaction as the move)."""
    if dest in _EVENTS:
        notify_event(
            _EVENTS[dest],
            f"/batches/{batch.id}",
            {
                "batch_no": batch.batch_no,
                "product": batch.product.code if batch.product is not None else "",
                "from_status": label(source),
                "actor": actor.printed_name,
                "note": note or "",
            },
            entity_type="Batch",
            entity_id=batch.id,
        )
        return
    who = _WHO.get(dest)
    if who is None:
        return
    kind, title, roles = who
    body = f"{batch.batch_no}: {label(source)} → {label(dest)} by {actor.printed_name}."
    if note:
        body += f"\n\n{note}"
    notify(kind, title.format(no=batch.batch_no), body, roles=roles, entity_type="Batch", entity_id=batch.id)
    if dest == "DISPATCHED":  # the hospitals waiting for the doses: plain words, no names or notes
        from app.batches.customer_view import MILESTONES

        user_ids = list(
            db.session.execute(
                select(CustomerUser.user_id)
                .join(batch_customer, batch_customer.c.customer_id == CustomerUser.customer_id)
                .where(batch_customer.c.batch_id == batch.id)
            ).scalars()
        )
        if user_ids:
            words = MILESTONES["DISPATCHED"][1]
            notify(
                kind,
                title.format(no=batch.batch_no),
                f"{batch.batch_no}: {words}",
                user_ids=user_ids,
                entity_type="Batch",
                entity_id=batch.id,
            )

"""Who hears about a batch move (requirements 2.5): QC pending, released / held / rejected,
dispensing completed, dispatched. Rows are written in the caller's transaction by `notify()`;
e-mails go out only after it commits.
"""

from __future__ import annotations

from sqlalchemy import select

from app.batches.domain.states import label
from app.batches.models import Batch, batch_customer
from app.core.actor import Actor
from app.core.extensions import db
from app.masterdata.models import CustomerUser
from app.notifications.service import notify

# to_status -> (kind, title template, roles told)
_WHO = {
    "QC_PENDING": ("BATCH_QC_PENDING", "{no} is waiting for QC", ("QC Analyst", "QC Manager")),
    "RELEASED": ("BATCH_RELEASED", "{no} was released by the QP", ("Dispensing", "Logistics", "Planner")),
    "ON_HOLD": (
        "BATCH_ON_HOLD",
        "{no} was put on hold",
        ("Dispensing", "Logistics", "Planner", "Production", "QC Manager"),
    ),
    "REJECTED": (
        "BATCH_REJECTED",
        "{no} was rejected",
        ("Dispensing", "Logistics", "Planner", "Production", "QC Manager"),
    ),
    "DISPENSED": ("BATCH_DISPENSED", "Dispensing of {no} is complete", ("Logistics", "Planner")),
    "DISPATCHED": ("BATCH_DISPATCHED", "{no} was dispatched", ("Planner", "QP")),
}


def notify_after_move(batch: Batch, source: str, dest: str, actor: Actor, note: str | None) -> None:
    """Queue the notifications a move causes (same transaction as the move)."""
    who = _WHO.get(dest)
    if who is None:
        return
    kind, title, roles = who
    body = f"{batch.batch_no}: {label(source)} → {label(dest)} by {actor.printed_name}."
    if note:
        body += f"\n\n{note}"
    user_ids: list[int] = []
    if dest == "DISPATCHED":  # the hospitals waiting for the doses
        user_ids = list(
            db.session.execute(
                select(CustomerUser.user_id)
                .join(batch_customer, batch_customer.c.customer_id == CustomerUser.customer_id)
                .where(batch_customer.c.batch_id == batch.id)
            ).scalars()
        )
    notify(
        kind,
        title.format(no=batch.batch_no),
        body,
        roles=roles,
        user_ids=user_ids,
        entity_type="Batch",
        entity_id=batch.id,
    )

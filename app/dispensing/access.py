"""Who sees which dose units and shipments: staff all, a hospital user only its own hospital's."""

from __future__ import annotations

from sqlalchemy import select

from app.core.actor import Actor
from app.core.extensions import db
from app.masterdata.models import CustomerUser


def customer_scope(actor: Actor) -> int | None:
    """None for staff; the hospital's id for a Customer-role user (-1 when the login has no
    hospital, so it sees nothing)."""
    if not actor.roles or any(r != "Customer" for r in actor.roles):
        return None
    if actor.customer_id is not None:
        return actor.customer_id
    found = db.session.execute(
        select(CustomerUser.customer_id).where(CustomerUser.user_id == actor.user_id)
    ).scalar()
    return found if found is not None else -1

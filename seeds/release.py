"""QP release rights for the demo QP: every active product (runs for demo and tests alike).

Idempotent: a product the QP already holds a live grant for (or had revoked by an admin) is left
alone. The grant is written by the System actor with an audit row, at the clock's time (the demo seed
sets it to the morning before its first day).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.core import clock
from app.core.actor import SYSTEM
from app.core.extensions import db
from app.masterdata.models import Product
from app.release.models import QpProductAuthorisation

DEMO_QPS = ("qp",)


def seed() -> dict[str, int]:
    sm = current_app.appbuilder.sm
    created = 0
    products = db.session.execute(select(Product).where(Product.active.is_(True))).scalars().all()
    for username in DEMO_QPS:
        user = sm.find_user(username=username)
        if user is None:
            continue
        known = set(
            db.session.execute(
                select(QpProductAuthorisation.product_id).where(QpProductAuthorisation.user_id == user.id)
            ).scalars()
        )
        for product in products:
            if product.id in known:
                continue
            grant = QpProductAuthorisation(
                user_id=user.id,
                product_id=product.id,
                granted_by_name="System (seed)",
                note="Demo QP: authorised for every product",
                granted_at=clock.stamp(),  # the demo's first day when the demo seed runs
            )
            db.session.add(grant)
            db.session.flush()
            audit.record(
                "QpProductAuthorisation",
                grant.id,
                "GRANT",
                after={"username": username, "product_code": product.code},
                reason="Demo seed",
                actor=SYSTEM,
            )
            created += 1
    db.session.commit()
    return {"qp_product_authorisations": created}

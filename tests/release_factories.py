"""Factory helpers for QP release tests: a batch waiting for the QP, extra users with given roles."""

from __future__ import annotations

from flask import current_app

from tests.qc_factories import PASSWORD, actor, make_batch

RELEASE_MEANING = "QP certification: released for human use"


def batch_in_qp_review(product_code: str = "FDG", *, analyst: str = "qc", reviewer: str = "qcreview"):
    """A batch whose QC passed (entered by `analyst`, approved by `reviewer`), now in QP_REVIEW."""
    from app.batches import service as batches
    from seeds.qc import run_batch_qc

    batch = make_batch(product_code)
    status = run_batch_qc(batch.id, analyst=analyst, reviewer=reviewer)
    assert status == "QC_PASSED", status
    batches.transition_batch(batch.id, "QP_REVIEW", actor("qp"))
    return batch


def add_user(username: str, *roles: str, first: str = "Test", last: str | None = None):
    """A user holding `roles` (password PASSWORD); committed through FAB's security manager."""
    sm = current_app.appbuilder.sm
    user = sm.find_user(username=username)
    if user is None:
        user = sm.add_user(
            username,
            first,
            last or username.capitalize(),
            f"{username}@test.example",
            [sm.find_role(r) for r in roles],
            PASSWORD,
        )
        assert user, f"could not create {username}"
    return user


def give_role(username: str, role: str) -> None:
    sm = current_app.appbuilder.sm
    user = sm.find_user(username=username)
    user.roles.append(sm.find_role(role))
    sm.session.commit()


def authorise(username: str, product_code: str = "FDG") -> None:
    """Grant a QP release rights for a product, as the admin would."""
    from sqlalchemy import select

    from app.core.extensions import db
    from app.masterdata.models import Product
    from app.release import rights as release_rights

    product = db.session.execute(select(Product).where(Product.code == product_code)).scalar_one()
    user = current_app.appbuilder.sm.find_user(username=username)
    if release_rights.live_grant(user.id, product.id) is None:
        release_rights.grant(user.id, product.id, actor=actor("admin"), note="test")


def release(batch_id: int, username: str = "qp", disposition: str = "RELEASE", **kw):
    from app.release import service

    kw.setdefault("password", PASSWORD)
    return service.decide_disposition(batch_id, disposition, actor=actor(username), **kw)

"""QP release rights per product: an administrator grants or revokes them; both are audited.

Rules enforced here:
- only an Admin grants or revokes (the page and API are Admin-only as well);
- a grant names a user who holds the QP role now, and an active product; one live grant per QP and
  product (the database's partial unique index says so too);
- a revocation needs a reason and keeps the row (who, when, why), so the history of who could
  certify what stays readable;
- each grant and revocation writes one audit row in the same transaction and commits once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import service as audit
from app.core.actor import Actor, actor_from_user
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Product
from app.release.models import QpProductAuthorisation

QP_ROLE = "QP"


def _snapshot(grant: QpProductAuthorisation) -> dict[str, Any]:
    data = audit.snapshot(grant)
    data["username"] = grant.user.username if grant.user else None
    data["product_code"] = grant.product.code if grant.product else None
    return data


def _require_admin(actor: Actor) -> None:
    if not actor.has_role("Admin"):
        raise DomainError("FORBIDDEN", "Only an administrator grants or revokes QP release rights.", 403)


def grant(user_id: Any, product_id: Any, *, actor: Actor, note: str | None = None) -> QpProductAuthorisation:
    """Authorise a QP to certify batches of a product (Admin; audited)."""
    try:
        _require_admin(actor)
        user = db.session.get(current_app.appbuilder.sm.user_model, _int(user_id, "user"))  # type: ignore[attr-defined]
        if user is None:
            raise ValidationFailed("Choose a user.", {"user": ["Unknown user."]})
        product = db.session.get(Product, _int(product_id, "product"))
        if product is None or not product.active:
            raise ValidationFailed("Choose an active product.", {"product": ["Unknown or retired product."]})
        holder = actor_from_user(user)
        if QP_ROLE not in holder.roles:
            raise ValidationFailed(
                f"{holder.printed_name} is not a QP: give them the QP role first.",
                {"user": ["Must hold the QP role."]},
            )
        if live_grant(user.id, product.id) is not None:
            raise ValidationFailed(
                f"{holder.printed_name} is already authorised for {product.code}.",
                {"product": ["Already authorised."]},
            )
        item = QpProductAuthorisation(
            user_id=user.id,
            product_id=product.id,
            granted_by_id=actor.user_id,
            granted_by_name=actor.printed_name,
            note=(note or "").strip() or None,
        )
        db.session.add(item)
        db.session.flush()
        audit.record(
            "QpProductAuthorisation", item.id, "GRANT", after=_snapshot(item), reason=item.note, actor=actor
        )
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        raise ValidationFailed(
            "This QP was authorised for this product at the same moment by someone else.",
            {"product": ["Already authorised."]},
        ) from err
    except Exception:
        db.session.rollback()
        raise
    return item


def revoke(grant_id: Any, *, actor: Actor, reason: str | None) -> QpProductAuthorisation:
    """Withdraw a QP's release right for a product (Admin; reason required; audited; row kept)."""
    try:
        _require_admin(actor)
        reason = (reason or "").strip()
        if not reason:
            raise DomainError(
                "REASON_REQUIRED",
                "Give a reason for revoking the release right.",
                422,
                {"fields": {"reason": ["Required."]}},
            )
        item = db.session.get(QpProductAuthorisation, _int(grant_id, "id"), with_for_update=True)
        if item is None:
            raise NotFound("release authorisation")
        if item.revoked_at is not None:
            raise DomainError("ALREADY_REVOKED", "This release authorisation was already revoked.", 409)
        before = _snapshot(item)
        item.revoked_at = dt.datetime.now(dt.UTC)
        item.revoked_by_id = actor.user_id
        item.revoked_by_name = actor.printed_name
        item.revoke_reason = reason
        db.session.flush()
        audit.record(
            "QpProductAuthorisation",
            item.id,
            "REVOKE",
            before=before,
            after=_snapshot(item),
            reason=reason,
            actor=actor,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def live_grant(user_id: int, product_id: int) -> QpProductAuthorisation | None:
    return db.session.execute(
        select(QpProductAuthorisation).where(
            QpProductAuthorisation.user_id == user_id,
            QpProductAuthorisation.product_id == product_id,
            QpProductAuthorisation.revoked_at.is_(None),
        )
    ).scalar_one_or_none()


def _int(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"Choose a {field}.", {field: ["Required."]}) from None

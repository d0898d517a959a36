"""Master data changes: create, update and delete, each audited in the same transaction.

Rules enforced here, for pages and API alike:
- unique keys (product code, nuclide symbol, ...) are checked before writing: 422 with field details;
- GMP-relevant records (Product, Nuclide, Customer, Site, HotCell, Supplier) need a reason for every
  change; Product, Nuclide and Customer are never
  deleted (batches, orders, labels and the audit trail refer to them): they are retired by
  unticking Active;
- other records are deleted only when nothing refers to them;
- every create, update and delete writes one audit row (before/after) and commits together with
  the change, or nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from app.audit import service as audit
from app.core.actor import Actor, current_actor
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db, get_appbuilder
from app.masterdata import domain as rules
from app.masterdata.domain import MASTERDATA_MEANING, critical_changes
from app.masterdata.models import Customer, CustomerUser, Product
from app.security import esign

# Every change of these needs a reason (issue 14: sites, hot cells and suppliers too).
REASON_REQUIRED = frozenset({"Product", "Nuclide", "Customer", "Site", "HotCell", "Supplier"})
NEVER_DELETED = frozenset({"Product", "Nuclide", "Customer"})

LABELS = {
    "Nuclide": "nuclide",
    "Product": "product",
    "Customer": "customer",
    "Site": "site",
    "HotCell": "hot cell",
    "Supplier": "supplier",
    "Material": "material",
    "MaterialLot": "material lot",
    "CustomerUser": "portal user link",
}

# Collections a record owns: removing the record removes these rows with it (not a blocker).
_OWNED_REFERENCES = {("customer_product", "customer_id")}

_CHECK_FIELDS = {
    "ck_nuclide_half_life_positive": "half_life_s",
    "ck_product_shelf_life_positive": "shelf_life_min",
    "ck_material_lot_status": "status",
}


def entity_name(item: Any) -> str:
    return type(item).__name__


def label(entity: str) -> str:
    return LABELS.get(entity, entity)


def snapshot(item: Any) -> dict[str, Any]:
    """Column values plus the permitted products of a customer (part of its licence record)."""
    data = audit.snapshot(item)
    if isinstance(item, Customer):
        data["permitted_products"] = sorted(p.code for p in item.permitted_products)
    return data


@dataclass(frozen=True)
class Change:
    """What a form or API request says about an update: the record before it, and why."""

    before: dict[str, Any]
    reason: str | None = None
    # Re-entered password: signs the change when it touches a GMP-critical field.
    password: str | None = None


def _values(item: Any) -> dict[str, Any]:
    return {c.key: getattr(item, c.key) for c in item.__mapper__.column_attrs}


def _unique_errors(item: Any) -> dict[str, list[str]]:
    """Every unique key of the table that another row already holds."""
    table = item.__table__
    keys = [tuple(c.name for c in con.columns) for con in table.constraints if _is_unique(con)]
    keys += [(c.name,) for c in table.columns if c.unique]
    errors: dict[str, list[str]] = {}
    what = label(entity_name(item))
    with db.session.no_autoflush:
        for key in dict.fromkeys(keys):
            values = [getattr(item, name) for name in key]
            if any(v is None for v in values):
                continue
            cond = and_(*(table.c[name] == v for name, v in zip(key, values, strict=True)))
            if item.id is not None:
                cond = and_(cond, table.c.id != item.id)
            if db.session.execute(select(func.count()).select_from(table).where(cond)).scalar():
                field = key[-1]
                shown = ", ".join(str(v) for v in values)
                errors.setdefault(field, []).append(f"Another {what} already uses {shown}.")
    return errors


def _is_unique(constraint: Any) -> bool:
    from sqlalchemy import UniqueConstraint

    return isinstance(constraint, UniqueConstraint)


def _portal_user_errors(item: Any) -> dict[str, list[str]]:
    """A portal link is only for Customer-role logins: staff must not be scoped to one hospital."""
    if not isinstance(item, CustomerUser):
        return {}
    user = item.user or (get_appbuilder().sm.get_user_by_id(item.user_id) if item.user_id else None)
    if user is None or "Customer" not in {r.name for r in user.roles}:
        return {"user": ["Only logins with the Customer role can be linked to a hospital."]}
    return {}


def _validate(item: Any) -> None:
    entity = entity_name(item)
    errors = rules.validate(entity, _values(item))
    errors.update(_portal_user_errors(item))
    for field, messages in _unique_errors(item).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationFailed(f"The {label(entity)} could not be saved. Check the marked fields.", errors)


def _flush(item: Any) -> None:
    """Flush, turning a constraint the checks above did not foresee (a race) into field errors."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
        field = _CHECK_FIELDS.get(constraint, "record")
        raise ValidationFailed(
            f"The {label(entity_name(item))} conflicts with another record. Reload and try again.",
            {field: ["This value conflicts with another record."]},
        ) from None


def _reason(entity: str, reason: str | None) -> str | None:
    text = (reason or "").strip() or None
    if entity in REASON_REQUIRED and not text:
        raise DomainError(
            "REASON_REQUIRED",
            f"Changes to a {label(entity)} are GMP-relevant: give a reason for the change.",
            422,
            {"fields": {"reason": ["Give a reason for the change."]}},
        )
    return text


@contextmanager
def _one_transaction() -> Iterator[None]:
    """The single commit point: the change and its audit row commit together or not at all."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def create(item: Any, *, reason: str | None = None) -> Any:
    """Add a master data record. Rule: keys unique, values valid; the creation is audited."""
    with _one_transaction():
        _validate(item)
        db.session.add(item)
        _flush(item)
        audit.record(
            entity_name(item), item.id, "CREATE", after=snapshot(item), reason=(reason or "").strip() or None
        )
    return item


def update(item: Any, change: Change, *, actor: Actor | None = None) -> Any:
    """Save edits already applied to `item`. Rules: GMP-relevant records need a reason; a change of
    a GMP-critical field (a product's code, nuclide, shelf life, dose form, QC second review) needs
    the editor's e-signature (MASTERDATA_CHANGE), linked to the UPDATE audit row; audited with
    before/after in the same transaction. An edit that changes nothing writes nothing."""
    entity = entity_name(item)
    actor = actor or current_actor()
    with _one_transaction():
        reason = _reason(entity, change.reason)
        _validate(item)
        _flush(item)
        after = snapshot(item)
        signature_id = _sign_critical_change(item, entity, change, after, reason, actor)
        if audit.diff(change.before, after):
            audit.record(
                entity,
                item.id,
                "UPDATE",
                before=change.before,
                after=after,
                reason=reason,
                actor=actor,
                signature_id=signature_id,
            )
    return item


def _sign_critical_change(
    item: Any, entity: str, change: Change, after: dict[str, Any], reason: str | None, actor: Actor
) -> int | None:
    critical = critical_changes(entity, change.before, after)
    if not critical:
        return None
    fields = ", ".join(label_field(f) for f in critical)
    if not change.password:
        raise DomainError(
            "SIGNATURE_REQUIRED",
            f"Changing {fields} is a critical change: re-enter your password to sign it.",
            409,
            {"fields": {"password": ["Re-enter your password to sign this change."]}},
        )
    sig = esign.sign(
        actor,
        change.password,
        scope="MASTERDATA_CHANGE",
        entity_type=entity,
        entity_id=item.id,
        meaning=f"{MASTERDATA_MEANING}: {fields}",
        content={"entity": entity, "id": item.id, "changes": critical, "reason": reason},
        comment=reason,
    )
    return sig.id


def label_field(name: str) -> str:
    return name.removesuffix("_id").replace("_min", "").replace("_", " ")


def references(item: Any) -> list[tuple[str, int]]:
    """(table, row count) of every other table that points at this record."""
    found = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is not item.__table__ or (table.name, fk.parent.name) in _OWNED_REFERENCES:
                continue
            count = db.session.execute(
                select(func.count()).select_from(table).where(fk.parent == item.id)
            ).scalar_one()
            if count:
                found.append((table.name, count))
    return found


def check_deletable(item: Any) -> None:
    """Rule: product, nuclide and customer records are retired, never deleted; others only when unused."""
    entity = entity_name(item)
    what = label(entity)
    if entity in NEVER_DELETED:
        raise DomainError(
            "DEACTIVATE_INSTEAD",
            f"A {what} is never deleted: batches, orders and the audit trail refer to it. "
            f"Edit it and untick Active to retire it.",
            409,
        )
    used = references(item)
    if used:
        where = ", ".join(f"{n} {t.replace('_', ' ')} record{'s' if n != 1 else ''}" for t, n in used)
        raise DomainError("IN_USE", f"This {what} cannot be deleted: it is used by {where}.", 409)


def delete(item: Any, *, reason: str | None = None) -> None:
    """Delete an unused record (see `check_deletable`); the last state is kept in the audit trail."""
    with _one_transaction():
        check_deletable(item)
        entity, pk, before = entity_name(item), item.id, snapshot(item)
        audit.record(entity, pk, "DELETE", before=before, reason=(reason or "").strip() or None)
        db.session.delete(item)
        try:
            db.session.flush()
        except IntegrityError:
            raise DomainError(
                "IN_USE", f"This {label(entity)} is in use and cannot be deleted.", 409
            ) from None


def customer_for_user(user_id: int | None) -> Customer | None:
    """The hospital a Customer-role login belongs to (None for staff)."""
    if user_id is None:
        return None
    link = db.session.execute(
        select(CustomerUser).where(CustomerUser.user_id == user_id)
    ).scalar_one_or_none()
    return link.customer if link else None


def check_customer_may_receive(customer: Customer, product: Product, on: dt.date) -> None:
    """Rule: a dose goes only to an active hospital, not on credit hold, with a licence valid on the
    delivery date that lists the product. Raises DomainError naming the first failed check."""
    if not customer.active:
        raise DomainError("CUSTOMER_INACTIVE", f"{customer.name} is not an active customer.", 409)
    status, _days = rules.licence_status(cast(dt.date | None, customer.licence_expiry), on)
    if status == "expired":
        raise DomainError(
            "LICENCE_EXPIRED",
            f"The licence of {customer.name} expired on {customer.licence_expiry:%d %b %Y}.",
            409,
        )
    if product not in customer.permitted_products:
        raise DomainError(
            "PRODUCT_NOT_PERMITTED", f"{customer.name} is not licensed to receive {product.code}.", 409
        )
    if customer.credit_hold:
        raise DomainError("CREDIT_HOLD", f"{customer.name} is on credit hold.", 409)

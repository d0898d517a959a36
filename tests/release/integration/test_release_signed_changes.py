"""Critical master data changes need an e-signature linked to the audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditLog
from app.core.domain import DomainError
from app.core.extensions import db
from app.masterdata import service as md
from app.masterdata.models import Product
from app.security.models import ESignature
from tests.qc_factories import PASSWORD, actor

pytestmark = pytest.mark.usefixtures("app_ctx")


def _product() -> Product:
    return db.session.execute(select(Product).where(Product.code == "NAF")).scalar_one()


def _updates(product_id: int) -> list[AuditLog]:
    return list(
        db.session.execute(
            select(AuditLog)
            .where(
                AuditLog.entity_type == "Product",
                AuditLog.entity_id == str(product_id),
                AuditLog.action == "UPDATE",
            )
            .order_by(AuditLog.id)
        ).scalars()
    )


def test_shelf_life_change_is_signed_and_the_signature_linked_to_the_audit_row():
    product = _product()
    change = md.Change(before=md.snapshot(product), reason="Stability study SR-2026-14", password=PASSWORD)
    product.shelf_life_min = 480
    md.update(product, change, actor=actor("admin"))
    (row,) = _updates(product.id)
    sig = db.session.get(ESignature, row.signature_id)
    assert sig.scope == "MASTERDATA_CHANGE" and sig.entity_id == str(product.id)
    assert "shelf life" in sig.meaning and sig.comment == "Stability study SR-2026-14"
    assert row.after["shelf_life_min"] == 480


def test_critical_change_without_the_right_password_is_not_saved():
    product = _product()
    before = md.snapshot(product)
    change = md.Change(before=before, reason="Typo", password="wrong-password")
    product.code = "NAF2"
    with pytest.raises(DomainError) as err:
        md.update(product, change, actor=actor("admin"))
    assert err.value.code == "SIGNATURE_INVALID"
    assert _product().code == "NAF" and _updates(before["id"]) == []


def test_non_critical_change_needs_no_signature():
    product = _product()
    change = md.Change(before=md.snapshot(product), reason="Marketing name")
    product.name_en = "[18F]Sodium fluoride injection (bone)"
    md.update(product, change, actor=actor("admin"))
    (row,) = _updates(product.id)
    assert row.signature_id is None


def test_reason_is_still_required():
    product = _product()
    change = md.Change(before=md.snapshot(product), reason=None, password=PASSWORD)
    product.qc_review_required = False
    with pytest.raises(DomainError) as err:
        md.update(product, change, actor=actor("admin"))
    assert err.value.code == "REASON_REQUIRED"


def test_critical_change_without_a_password_asks_for_the_signature():
    product = _product()
    before = md.snapshot(product)
    product.shelf_life_min = 300
    with pytest.raises(DomainError) as err:
        md.update(product, md.Change(before=before, reason="Shorter expiry"), actor=actor("admin"))
    assert err.value.code == "SIGNATURE_REQUIRED" and "shelf life" in err.value.user_message
    assert _product().shelf_life_min == before["shelf_life_min"] and _updates(before["id"]) == []

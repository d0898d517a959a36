"""Factories for batch tests: actors for the demo users, batches in any state, QP signatures."""

from __future__ import annotations

import datetime as dt
import itertools

from flask import current_app
from sqlalchemy import select

from app.batches import service as batches
from app.batches.domain import fields as batch_fields
from app.batches.domain.states import EXCEPTION_STATES, MAIN_PATH, POST_RELEASE
from app.batches.models import Batch, BatchEvent
from app.core.actor import Actor, actor_from_user
from app.core.extensions import db
from app.masterdata.models import Customer, HotCell, Nuclide, Product, Site
from app.security.models import ESignature

# The demo user who holds each role (seeds/users.py).
USERS = {
    "Admin": "admin",
    "Planner": "planner",
    "Production": "prod",
    "QC Analyst": "qc",
    "QC Reviewer": "qcreview",
    "QC Manager": "qcmanager",
    "QP": "qp",
    "Dispensing": "disp",
    "Logistics": "logi",
    "Customer": "hospital",
    "Auditor": "auditor",
}
_minutes = itertools.count()


def actor(role_or_username: str) -> Actor:
    username = USERS.get(role_or_username, role_or_username)
    user = current_app.appbuilder.sm.find_user(username=username)
    assert user is not None, f"demo user {username} missing"
    return actor_from_user(user)


def ensure_master_data() -> None:
    """Products, site and hot cell the batch tests use (committed tests truncate master data)."""
    if db.session.execute(select(Product.id).where(Product.code == "FDG")).first():
        return
    f18 = db.session.execute(select(Nuclide).where(Nuclide.symbol == "F-18")).scalar_one_or_none()
    if f18 is None:
        f18 = Nuclide(symbol="F-18", name="Fluorine-18", half_life_s=6586.2, half_life_source="test")
        db.session.add(f18)
    db.session.add_all(
        [
            Product(code="FDG", name_en="[18F]FDG", nuclide=f18, shelf_life_min=600),
            Product(code="NAF", name_en="[18F]NaF", nuclide=f18, shelf_life_min=720),
        ]
    )
    site = db.session.execute(select(Site).where(Site.code == "RUH")).scalar_one_or_none()
    if site is None:
        site = Site(code="RUH", name="Riyadh", timezone="Asia/Riyadh")
        db.session.add(site)
        db.session.add(HotCell(site=site, code="HC-1", name="Hot cell 1", module_type="FASTlab"))
    if not db.session.execute(select(Customer.id).where(Customer.code == "KFSH")).first():
        db.session.add(
            Customer(code="KFSH", name="KFSH", licence_number="L1", licence_expiry=dt.date(2030, 1, 1))
        )
    db.session.commit()


def new_batch(product: str = "FDG", *, start: dt.datetime | None = None, by: str = "Planner", **kw) -> Batch:
    """A PLANNED batch created through the real service."""
    ensure_master_data()
    start = start or dt.datetime(2026, 11, 22, 2, 30, tzinfo=dt.UTC) + dt.timedelta(minutes=next(_minutes))
    return batches.create_batch(product, start, start + dt.timedelta(minutes=45), actor=actor(by), **kw)


def forge_state(batch: Batch, status: str, prior: str | None = None) -> Batch:
    """Put a batch straight into `status` (and `prior` for exception states), consistent with the
    CHECK constraints and with one status event, without walking the path. For decision tests."""
    path = list(MAIN_PATH[: MAIN_PATH.index(prior or status) + 1]) if (prior or status) in MAIN_PATH else []
    if status in EXCEPTION_STATES:
        path.append(status)
    derived = batch_fields.derive_history(path)
    if status in POST_RELEASE or (prior in POST_RELEASE):  # before the status: CHECK needs it
        batch.released_at = dt.datetime.now(dt.UTC)
    for column in (
        "status",
        "qc_status",
        "qp_disposition",
        "shipment_status",
        "status_before_exception",
        "status_rank",
    ):
        setattr(batch, column, getattr(derived, column))
    db.session.add(
        BatchEvent(
            batch_id=batch.id,
            event_type="STATUS_CHANGE",
            title="Forged for a test",
            from_status=None,
            to_status=status,
            batch_version=batch.version,
            actor_name="Test",
            actor_role="Test",
        )
    )
    batch.version += 1
    db.session.commit()
    return batch


def batch_in(status: str, prior: str | None = None, **kw) -> Batch:
    return forge_state(new_batch(**kw), status, prior)


def qp_signature(batch: Batch, signer: Actor | None = None) -> int:
    signer = signer or actor("QP")
    sig = ESignature(
        scope="BATCH_RELEASE",
        entity_type="Batch",
        entity_id=str(batch.id),
        signer_id=signer.user_id,
        signer_name=signer.printed_name,
        signer_roles=signer.roles_text,
        meaning="QP certification: released for human use",
        content_sha256="0" * 64,
    )
    db.session.add(sig)
    db.session.flush()
    return sig.id

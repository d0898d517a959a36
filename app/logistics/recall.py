"""Recalls: from a material lot or a batch, every dose unit reached, where it went and when.

Rule: the recall walks the genealogy forward from its start (the same recursive query as the
genealogy page), snapshots each dose unit reached with its hospital, order reference and shipment
times, flags the doses (recalled_at) and notifies the QP and each reached hospital's users, all in
one transaction. A failed after-release test opens one automatically for its batch (`open_recall`
with automatic=True, called from QC's outcome through the batch extension hook, inside QC's
transaction).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from app.audit import service as audit
from app.batches.models import Batch
from app.core.actor import Actor
from app.core.domain import NotFound, ValidationFailed
from app.core.extensions import db
from app.dispensing.models import DoseUnit
from app.genealogy.queries import reached
from app.logistics.models import Package, Recall, RecallItem, Shipment, package_dose
from app.masterdata.models import CustomerUser, MaterialLot
from app.notifications.service import notify
from app.orders.models import Order


def _start_exists(start_type: str, start_id: int) -> bool:
    model = {"LOT": MaterialLot, "BATCH": Batch}.get(start_type)
    if model is None:
        raise ValidationFailed("A recall starts from a lot or a batch.", {"start": "lot:<id> or batch:<id>"})
    return db.session.get(model, start_id) is not None


def latest_shipments(dose_ids: list[int]) -> dict[int, Shipment]:
    """Each dose's most recent shipment that was not cancelled (one query)."""
    if not dose_ids:
        return {}
    rows = db.session.execute(
        select(package_dose.c.dose_unit_id, Shipment)
        .join(Package, Package.id == package_dose.c.package_id)
        .join(Shipment, Shipment.id == Package.shipment_id)
        .where(package_dose.c.dose_unit_id.in_(dose_ids), Shipment.status != "CANCELLED")
        .order_by(Shipment.id)
    ).all()
    return {dose_id: shipment for dose_id, shipment in rows}


def open_recall(
    start_type: str, start_id: int, reason: str, actor: Actor, *, automatic: bool = False, commit: bool = True
) -> Recall:
    """Open a recall (see the module docstring). `commit=False` inside another act's transaction."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 2000:
        raise ValidationFailed("A recall needs a reason (at most 2000 characters).", {"reason": "Required."})
    try:
        if not _start_exists(start_type, start_id):
            raise NotFound("lot" if start_type == "LOT" else "batch")
        now = dt.datetime.now(dt.UTC)
        db.session.execute(select(func.pg_advisory_xact_lock(7_311_012)))
        count = db.session.execute(select(func.count()).select_from(Recall)).scalar_one()
        recall = Recall(
            recall_no=f"RCL-{now:%Y%m%d}-{count + 1:04d}",
            start_type=start_type,
            start_id=start_id,
            reason=reason,
            automatic=automatic,
            opened_by_id=actor.user_id,
            opened_by_name=actor.printed_name,
        )
        db.session.add(recall)
        db.session.flush()
        dose_ids = reached((start_type, start_id), "DOSE")
        doses = list(
            db.session.execute(
                select(DoseUnit).where(DoseUnit.id.in_(dose_ids)).order_by(DoseUnit.id)
            ).scalars()
        )
        shipments = latest_shipments(dose_ids)
        refs = dict(
            db.session.execute(
                select(Order.id, Order.hospital_order_reference).where(
                    Order.id.in_({d.order_id for d in doses})
                )
            ).all()
        )
        for dose in doses:
            shipment = shipments.get(dose.id)
            db.session.add(
                RecallItem(
                    recall_id=recall.id,
                    dose_unit_id=dose.id,
                    batch_id=dose.batch_id,
                    customer_id=dose.customer_id,
                    order_id=dose.order_id,
                    hospital_order_reference=refs[dose.order_id],
                    shipment_id=shipment.id if shipment else None,
                    dose_status=dose.status,
                    dispatched_at=shipment.dispatched_at if shipment else None,
                    delivered_at=shipment.delivered_at if shipment else None,
                )
            )
            if dose.recalled_at is None:
                dose.recalled_at = now
        audit.record(
            "Recall",
            recall.id,
            "OPEN",
            after={**audit.snapshot(recall), "dose_unit_ids": dose_ids},
            reason=reason,
            actor=actor,
        )
        _notify(recall, {d.customer_id for d in doses}, len(doses))
        if commit:
            db.session.commit()
    except Exception:
        if commit:
            db.session.rollback()
        raise
    return recall


def _notify(recall: Recall, customer_ids: set[int], dose_count: int) -> None:
    what = "lot" if recall.start_type == "LOT" else "batch"
    title = f"Recall {recall.recall_no}: {dose_count} dose unit(s) from a {what}"
    notify(
        "RECALL_OPENED",
        title,
        recall.reason,
        roles=("QP",),
        entity_type="Recall",
        entity_id=recall.id,
        record_url=f"/logistics/recalls/{recall.id}",
    )
    users = (
        list(
            db.session.execute(
                select(CustomerUser.user_id).where(CustomerUser.customer_id.in_(customer_ids))
            ).scalars()
        )
        if customer_ids
        else []
    )
    if users:
        notify(
            "RECALL_OPENED",
            f"Recall {recall.recall_no}: doses you received are recalled",
            "Do not use the listed dose units; see the recall for the order references.",
            user_ids=users,
            entity_type="Recall",
            entity_id=recall.id,
            record_url=f"/logistics/recalls/{recall.id}",
        )


def after_release_test_failed(batch: Any, reason: str, actor: Actor) -> None:
    """The QC hook: a failed after-release test recalls the batch, inside QC's transaction."""
    open_recall(
        "BATCH", batch.id, f"After-release test failed: {reason}", actor, automatic=True, commit=False
    )

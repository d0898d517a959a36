"""Read side of logistics: shipments (a hospital sees only its own), the genealogy tree with labels,
recalls, and the journey's Logistics tab."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.batches.models import Batch
from app.core.actor import Actor
from app.core.domain import NotFound
from app.core.extensions import db
from app.core.guards import INT32_MAX
from app.core.sql import any_of, fetch
from app.dispensing.access import customer_scope
from app.dispensing.models import DoseUnit
from app.genealogy import queries as genealogy
from app.logistics.domain import custody_label, shipment_state_label
from app.logistics.models import CustodyEntry, Package, Recall, Shipment, package_dose
from app.masterdata.models import Customer, Material, MaterialLot
from app.orders.models import Order


def shipment_dict(s: Shipment, *, internal: bool = True, with_detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": s.id,
        "shipment_no": s.shipment_no,
        "customer": {"id": s.customer_id, "name": s.customer.name if s.customer else ""},
        "status": s.status,
        "status_label": shipment_state_label(s.status),
        "courier": s.courier,
        "planned_departure_at": s.planned_departure_at,
        "dispatched_at": s.dispatched_at,
        "delivered_at": s.delivered_at,
        "received_by": s.received_by,
        "cancel_reason": s.cancel_reason if internal else None,
    }
    if with_detail:
        out["packages"] = [
            {
                "id": p.id,
                "surface_dose_rate_msv_h": p.surface_dose_rate_msv_h,
                "dose_rate_1m_msv_h": p.dose_rate_1m_msv_h,
                "transport_index": p.transport_index,
                "category": p.category,
                "un_number": p.un_number,
                "total_activity_mbq": p.total_activity_mbq,
                "packed_at": p.packed_at,
                "dose_units": [
                    {
                        "id": d.id,
                        "label_id": f"DU-{d.id:06d}",
                        "status": d.status,
                        "measured_activity_mbq": d.measured_activity_mbq,
                        "batch_id": d.batch_id,
                        "order_reference": d.order.hospital_order_reference,
                        "product": d.product.name_en,
                        "nuclide": d.product.nuclide.symbol,
                    }
                    for d in p.doses
                ],
            }
            for p in s.packages
        ]
        entries = db.session.execute(
            select(CustodyEntry).where(CustodyEntry.shipment_id == s.id).order_by(CustodyEntry.id)
        ).scalars()
        out["custody"] = [
            {
                "kind": e.kind,
                "label": custody_label(e.kind),
                "by": e.actor_name if internal or e.kind == "RECEIVED" else None,
                "at": e.occurred_at,
            }
            for e in entries
        ]
    return out


def list_shipments(actor: Actor, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    own = customer_scope(actor)
    query = select(Shipment).order_by(Shipment.id.desc()).limit(limit)
    if own is not None:
        query = query.where(Shipment.customer_id == own)
    if status:
        query = query.where(Shipment.status == status)
    return [shipment_dict(s, internal=own is None) for s in db.session.execute(query).scalars()]


def visible_shipment(shipment_id: int, actor: Actor) -> Shipment:
    s = db.session.get(Shipment, shipment_id)
    own = customer_scope(actor)
    if s is None or (own is not None and s.customer_id != own):
        raise NotFound("shipment")
    return s


def packable_doses(customer_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(DoseUnit, Batch.batch_no, Order.hospital_order_reference)
        .join(Batch, Batch.id == DoseUnit.batch_id)
        .join(Order, Order.id == DoseUnit.order_id)
        .where(DoseUnit.customer_id == customer_id, DoseUnit.status == "DISPENSED")
        .order_by(DoseUnit.id)
    ).all()
    return [
        {
            "id": d.id,
            "label_id": f"DU-{d.id:06d}",
            "batch_no": no,
            "order_reference": ref,
            "measured_activity_mbq": d.measured_activity_mbq,
            "calibration_at": d.calibration_at,
        }
        for d, no, ref in rows
    ]


def batch_shipments(batch_id: int, actor: Actor) -> dict[str, Any]:
    """The journey's Logistics tab: the shipments carrying this batch's doses (a hospital: its own)."""
    own = customer_scope(actor)
    query = (
        select(Shipment)
        .join(Package, Package.shipment_id == Shipment.id)
        .join(package_dose, package_dose.c.package_id == Package.id)
        .join(DoseUnit, DoseUnit.id == package_dose.c.dose_unit_id)
        .where(DoseUnit.batch_id == batch_id)
        .distinct()
        .order_by(Shipment.id)
    )
    if own is not None:
        query = query.where(Shipment.customer_id == own)
    return {
        "shipments": [
            shipment_dict(s, internal=own is None, with_detail=True)
            for s in db.session.execute(query).scalars()
        ]
    }


def shipment_count(batch_id: int) -> dict[str, Any]:
    return shipment_counts([batch_id])[batch_id]


def shipment_counts(batch_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Live shipments carrying doses of each batch, for a page of batches in one query."""
    out: dict[int, dict[str, Any]] = {batch_id: {"shipments_count": 0} for batch_id in batch_ids}
    if batch_ids:
        for batch_id, n in fetch(
            "logistics.shipment_counts",
            lambda: (
                select(DoseUnit.batch_id, func.count(func.distinct(Package.shipment_id)))
                .join(package_dose, package_dose.c.package_id == Package.id)
                .join(DoseUnit, DoseUnit.id == package_dose.c.dose_unit_id)
                .join(Shipment, Shipment.id == Package.shipment_id)
                .where(any_of(DoseUnit.batch_id, [], name="ids"), Shipment.status != "CANCELLED")
                .group_by(DoseUnit.batch_id)
            ),
            {"ids": list(batch_ids)},
        ):
            out[batch_id] = {"shipments_count": n}
    return out


# --- genealogy ----------------------------------------------------------------------------------
def _labels(nodes: set[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
    """A few words per node, read in one query per node type (ids as one array: a recall's genealogy
    can reach 200,000 doses, more than a statement's bind parameters)."""
    by_type: dict[str, list[int]] = {}
    for t, i in nodes:
        if 0 < i <= INT32_MAX:  # ids are integers: a larger one (typed into the start) names nothing
            by_type.setdefault(t, []).append(i)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    if by_type.get("LOT"):
        for lot, m in db.session.execute(
            select(MaterialLot, Material).join(Material).where(any_of(MaterialLot.id, by_type["LOT"]))
        ).all():
            out[("LOT", lot.id)] = {
                "label": f"Lot {lot.supplier_lot_no}",
                "detail": m.name,
                "status": lot.status,
            }
    if by_type.get("BATCH"):
        for b in db.session.execute(select(Batch).where(any_of(Batch.id, by_type["BATCH"]))).scalars():
            out[("BATCH", b.id)] = {"label": f"Batch {b.batch_no}", "detail": "", "status": b.status}
    if by_type.get("DOSE"):
        for d, ref, name in db.session.execute(
            select(DoseUnit, Order.hospital_order_reference, Customer.name)
            .join(Order, Order.id == DoseUnit.order_id)
            .join(Customer, Customer.id == DoseUnit.customer_id)
            .where(any_of(DoseUnit.id, by_type["DOSE"]))
        ).all():
            out[("DOSE", d.id)] = {
                "label": f"Dose DU-{d.id:06d}",
                "detail": f"{name} · order ref {ref}",
                "status": d.status,
            }
    if by_type.get("SHIPMENT"):
        for s, name in db.session.execute(
            select(Shipment, Customer.name).join(Customer).where(any_of(Shipment.id, by_type["SHIPMENT"]))
        ).all():
            out[("SHIPMENT", s.id)] = {
                "label": f"Shipment {s.shipment_no}",
                "detail": name,
                "status": s.status,
                "delivered_at": s.delivered_at,
            }
    return out


def genealogy_tree(start: tuple[str, int], direction: genealogy.Direction) -> dict[str, Any]:
    """Every link and node of the genealogy (the API, the CSV and the PDF)."""
    edges = genealogy.walk(start, direction)
    nodes = (
        {start} | {(e.parent_type, e.parent_id) for e in edges} | {(e.child_type, e.child_id) for e in edges}
    )
    labels = _labels(nodes)
    if start not in labels:
        raise NotFound(start[0].lower())
    return {
        "start": _key(start),
        "direction": direction,
        "nodes": [
            {"key": _key(n), "type": n[0], "id": n[1], **labels.get(n, {"label": _key(n), "detail": ""})}
            for n in sorted(nodes)
        ],
        "edges": [_edge(e) for e in edges],
    }


# The genealogy page shows at most this many links; the CSV and the API give every one.
PAGE_LINKS = 500
_SECTIONS = (("backward", "Came from"), ("forward", "Went to"))


def _key(node: tuple[str, int]) -> str:
    return f"{node[0].lower()}:{node[1]}"


def genealogy_page(
    start: tuple[str, int], direction: genealogy.Direction, limit: int = PAGE_LINKS
) -> dict[str, Any]:
    """The genealogy as the page draws it: per direction, the tree in depth-first order as rows
    (level, node, the link that reaches it), at most `limit` rows in all. A node reached again by
    another path (a shipment holding doses of several batches) is shown each time but its own links
    only the first time (`again`), so a shared subtree is drawn once; with the nearest links first,
    a large genealogy (a lot in 10,000 batches) is cut with the number of links it has, never
    silently. Labels are read only for the nodes drawn."""
    edges = genealogy.walk(start, direction)
    drawn: set[tuple[str, int]] = {start}
    sections: list[dict[str, Any]] = []
    budget = limit
    for name, title in _SECTIONS:
        if direction not in (name, "both"):
            continue
        near, far = genealogy.SIDES[name]
        children: dict[tuple[str, int], list[Any]] = {}
        for e in edges:
            if e.direction == name:
                children.setdefault(genealogy.end(e, near), []).append(e)
        rows: list[dict[str, Any]] = []
        expanded = {start}
        stack = [(1, e) for e in reversed(children.get(start, []))]
        while stack and len(rows) < budget:
            level, e = stack.pop()
            other = genealogy.end(e, far)
            again = other in expanded
            rows.append(
                {"level": level, "node": _key(other), "again": again and other in children, **_edge(e)}
            )
            drawn.add(other)
            if not again:
                expanded.add(other)
                stack.extend((level + 1, k) for k in reversed(children.get(other, [])))
        budget -= len(rows)
        sections.append({"direction": name, "title": title, "rows": rows, "cut": bool(stack)})
    labels = _labels(drawn)
    if start not in labels:
        raise NotFound(start[0].lower())
    reached: dict[str, set[int]] = {}
    for e in edges:
        node = genealogy.end(e, genealogy.SIDES[e.direction][1])
        if node != start:
            reached.setdefault(node[0], set()).add(node[1])
    return {
        "start": _key(start),
        "direction": direction,
        "nodes": {
            _key(n): {"type": n[0], "id": n[1], **labels.get(n, {"label": _key(n), "detail": ""})}
            for n in drawn
        },
        "sections": sections,
        "links": len(edges),
        "shown": limit - budget,
        "reached": {t: len(reached[t]) for t in genealogy.NODE_TYPES if t in reached},
    }


def _edge(e: Any) -> dict[str, Any]:
    return {
        "parent": _key((e.parent_type, e.parent_id)),
        "child": _key((e.child_type, e.child_id)),
        "event": e.event,
        "quantity": e.quantity,
        "unit": e.unit,
        "at": e.occurred_at,
        "by": e.actor_name,
        "depth": e.depth,
        "direction": e.direction,
    }


def recall_dict(recall_id: int) -> dict[str, Any]:
    recall = db.session.get(Recall, recall_id)
    if recall is None:
        raise NotFound("recall")
    customers = dict(db.session.execute(select(Customer.id, Customer.name)).all())
    shipments = {
        s.id: s.shipment_no
        for s in db.session.execute(
            select(Shipment).where(Shipment.id.in_({i.shipment_id for i in recall.items if i.shipment_id}))
        ).scalars()
    }
    batches = dict(
        db.session.execute(
            select(Batch.id, Batch.batch_no).where(Batch.id.in_({i.batch_id for i in recall.items}))
        ).all()
    )
    return {
        "id": recall.id,
        "recall_no": recall.recall_no,
        "start": f"{recall.start_type.lower()}:{recall.start_id}",
        "start_label": _labels({(recall.start_type, recall.start_id)})
        .get((recall.start_type, recall.start_id), {})
        .get("label", f"{recall.start_type.title()} {recall.start_id}"),
        "reason": recall.reason,
        "automatic": recall.automatic,
        "status": recall.status,
        "opened_at": recall.opened_at,
        "opened_by": recall.opened_by_name,
        "items": [
            {
                "dose_unit_id": i.dose_unit_id,
                "label_id": f"DU-{i.dose_unit_id:06d}",
                "batch_no": batches.get(i.batch_id),
                "customer": customers.get(i.customer_id),
                "customer_id": i.customer_id,
                "hospital_order_reference": i.hospital_order_reference,
                "shipment_id": i.shipment_id,
                "shipment_no": shipments.get(i.shipment_id),
                "dose_status": i.dose_status,
                "dispatched_at": i.dispatched_at,
                "delivered_at": i.delivered_at,
            }
            for i in recall.items
        ],
    }

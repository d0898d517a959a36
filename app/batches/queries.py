"""Reading batches: the filtered list, one batch with its computed journey fields, the timeline and
the KPI cards. The API returns these dicts as JSON; the pages (issue 4) render the same dicts.

Who sees what: internal roles see every batch and every event field; a hospital user (Customer role
only) sees only batches linked to their hospital (`batch_customer`), gets 404 for any other, and
never sees event metadata or trace ids.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import DateTime, Integer, String, and_, bindparam, exists, false, func, or_, select, text
from sqlalchemy.sql.elements import ColumnElement

from app.batches import extensions_hooks
from app.batches import hooks as batch_hooks
from app.batches.domain import flow as batch_flow
from app.batches.domain import journey as batch_journey
from app.batches.domain.states import EXCEPTION_STATES, STATE_LABELS, STATES, label
from app.batches.filters import ListQuery
from app.batches.models import Batch, BatchEvent, BatchOrder, Deviation, batch_customer
from app.batches.service import batch_context
from app.capacity.models import DeliveryWindow
from app.core.actor import Actor
from app.core.domain import NotFound
from app.core.extensions import db
from app.core.jsonout import dumps
from app.core.sql import any_of, execute, fetch
from app.masterdata.models import Customer, CustomerUser, HotCell, Product, Site
from app.orders.models import Order

CUSTOMER_ROLE = "Customer"
AWAITING_QC = ("QC_PENDING", "QC_IN_PROGRESS")
AWAITING_QP = ("QC_PASSED", "QP_REVIEW")
ACTIVE_EXCEPTIONS = ("ON_HOLD", "FAILED_QC", "DEVIATION_OPEN")


# --- who is looking ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Viewer:
    actor: Actor
    restricted: bool = False  # a hospital user: own batches only, no metadata
    customer_id: int | None = None
    roles: tuple[str, ...] = field(default_factory=tuple)


def viewer_for(actor: Actor) -> Viewer:
    """Internal unless the person holds only the Customer role."""
    restricted = CUSTOMER_ROLE in actor.roles and all(r == CUSTOMER_ROLE for r in actor.roles)
    customer_id = actor.customer_id
    if restricted and customer_id is None and actor.user_id is not None:
        customer_id = db.session.execute(
            select(CustomerUser.customer_id).where(CustomerUser.user_id == actor.user_id)
        ).scalar()
    return Viewer(actor=actor, restricted=restricted, customer_id=customer_id, roles=actor.roles)


def _own(query: Any, column: Any, viewer: Viewer) -> Any:
    """`query` limited to the hospital's own rows for a hospital viewer (`viewer_customer` bound)."""
    if not viewer.restricted:
        return query
    return query.where(column == bindparam("viewer_customer", viewer.customer_id, type_=Integer()))


def _visible(viewer: Viewer) -> ColumnElement[bool] | None:
    """For a hospital viewer, its own batches only (the hospital bound as `viewer_customer`, so a
    statement compiled once serves every hospital: see `fetch`)."""
    if not viewer.restricted:
        return None
    if viewer.customer_id is None:
        return false()
    return exists().where(
        batch_customer.c.batch_id == Batch.id,
        batch_customer.c.customer_id == bindparam("viewer_customer", viewer.customer_id, type_=Integer()),
    )


# --- the list ----------------------------------------------------------------------------------
_ITEM_COLUMNS = (
    Batch.id,
    Batch.batch_no,
    Batch.status,
    Batch.qc_status,
    Batch.qp_disposition,
    Batch.shipment_status,
    Batch.status_before_exception,
    Batch.planned_start_at,
    Batch.planned_end_at,
    Batch.actual_start_at,
    Batch.actual_end_at,
    Batch.released_at,
    Batch.planned_activity_mbq,
    Batch.actual_yield_mbq,
    Batch.created_at,
    Batch.updated_at,
    Batch.version,
    Batch.owner_id,
    Product.id.label("product_id"),
    Product.code.label("product_code"),
    Product.name_en.label("product_name"),
    Site.id.label("site_id"),
    Site.code.label("site_code"),
    Site.name.label("site_name"),
    HotCell.id.label("hot_cell_id"),
    HotCell.code.label("hot_cell_code"),
    HotCell.name.label("hot_cell_name"),
    HotCell.module_type.label("hot_cell_module"),
    User.first_name.label("owner_first"),
    User.last_name.label("owner_last"),
)


# Built once: a select is immutable (each .where() returns a new one), and building 30 columns and
# four joins was a tenth of a list request's Python time.
_ITEM_SELECT = (
    select(*_ITEM_COLUMNS)
    .join(Product, Product.id == Batch.product_id)
    .join(Site, Site.id == Batch.site_id)
    .outerjoin(HotCell, HotCell.id == Batch.hot_cell_id)
    .outerjoin(User, User.id == Batch.owner_id)
)


def _item_select():
    return _ITEM_SELECT


_DATE_COLUMNS = {
    "planned": Batch.planned_start_at,
    "production": Batch.actual_start_at,
    "release": Batch.released_at,
}
_SORTS = {
    "planned_at": (Batch.planned_start_at,),
    "status": (Batch.status_rank, Batch.planned_start_at),
    "updated_at": (Batch.updated_at,),
}


class _Filter:
    """The list's WHERE clause as a shape (which filters, how many values each: one compiled
    statement per shape) and the values for its named parameters."""

    def __init__(self) -> None:
        self.shape: list[Hashable] = []
        self.params: dict[str, Any] = {}
        self.builders: list[Callable[[], ColumnElement[bool]]] = []

    def param(self, name: str, value: Any, type_: Any) -> Any:
        self.params[name] = value
        return bindparam(name, type_=type_)

    def values(self, name: str, column: Any, values: tuple[Any, ...]) -> None:
        """`column IN (...)`, one parameter per value (IN, not ANY(array): the count's generic plan
        for ANY scans three times longer)."""
        self.shape.append((name, len(values)))
        names = [f"p_{name}_{i}" for i in range(len(values))]  # never an anonymous bind's name
        self.params.update(zip(names, values, strict=True))
        params = self.params
        self.builders.append(lambda: column.in_([bindparam(n, params[n], type_=column.type) for n in names]))

    def add(self, name: Hashable, build: Callable[[], ColumnElement[bool]], **params: Any) -> None:
        self.shape.append(name)
        self.params.update(params)
        self.builders.append(build)

    def conditions(self) -> list[ColumnElement[bool]]:
        return [build() for build in self.builders]


def _conditions(query: ListQuery, viewer: Viewer) -> _Filter:
    f = _Filter()
    for name, column, values in (
        ("status", Batch.status, query.statuses),
        ("product", Batch.product_id, query.product_ids),
        ("site", Batch.site_id, query.site_ids),
        ("hot_cell", Batch.hot_cell_id, query.hot_cell_ids),
        ("qc_status", Batch.qc_status, query.qc_statuses),
        ("qp_disposition", Batch.qp_disposition, query.qp_dispositions),
        ("shipment_status", Batch.shipment_status, query.shipment_statuses),
    ):
        if values:
            f.values(name, column, values)
    if query.exceptions_only:
        f.add("exceptions", lambda: Batch.status.in_(EXCEPTION_STATES))
    date_column = _DATE_COLUMNS[query.date_field]
    when = DateTime(timezone=True)
    if query.date_from is not None:
        f.add(
            ("from", query.date_field),
            lambda: date_column >= bindparam("date_from", query.date_from, type_=when),
            date_from=query.date_from,
        )
    if query.date_to is not None:
        f.add(
            ("to", query.date_field),
            lambda: date_column < bindparam("date_to", query.date_to, type_=when),
            date_to=query.date_to,
        )
    if query.q:
        # Batch numbers are upper case: a plain LIKE on the upper-cased text is case-insensitive and
        # four times cheaper than ILIKE on a full scan (no trigram index on the embedded server).
        escaped = query.q.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

        def search() -> ColumnElement[bool]:
            pattern = bindparam("q", f.params["q"], type_=String())
            # ... or a linked order's number or hospital order reference (both upper-cased too).
            return or_(
                Batch.batch_no.like(pattern, escape="\\"),
                exists().where(
                    BatchOrder.batch_id == Batch.id,
                    Order.id == BatchOrder.order_id,
                    or_(
                        func.upper(Order.order_no).like(pattern, escape="\\"),
                        func.upper(Order.hospital_order_reference).like(pattern, escape="\\"),
                    ),
                ),
            )

        f.add("q", search, q=f"%{escaped}%")
    if query.mine:
        if viewer.actor.user_id:
            f.add(
                "mine",
                lambda: Batch.owner_id == bindparam("owner_id", viewer.actor.user_id, type_=Integer()),
                owner_id=viewer.actor.user_id,
            )
        else:
            f.add("nobody", false)
    if query.customer_ids:
        names = [f"p_customer_{i}" for i in range(len(query.customer_ids))]
        f.add(
            ("customer", len(names)),
            lambda: exists().where(
                batch_customer.c.batch_id == Batch.id,
                batch_customer.c.customer_id.in_([bindparam(n, f.params[n], type_=Integer()) for n in names]),
            ),
            **dict(zip(names, query.customer_ids, strict=True)),
        )
    if viewer.restricted:
        if viewer.customer_id is None:
            f.add("invisible", false)
        else:
            f.add(
                "visible",
                lambda: exists().where(
                    batch_customer.c.batch_id == Batch.id,
                    batch_customer.c.customer_id
                    == bindparam("viewer_customer", viewer.customer_id, type_=Integer()),
                ),
                viewer_customer=viewer.customer_id,
            )
    return f


def list_batches(query: ListQuery, actor: Actor, count_cap: int | None = None) -> dict[str, Any]:
    """One page of batches matching the filters, in the asked order, with the total count.

    Both statements are compiled once per filter shape and run through `app.core.sql.fetch` (the
    list is the busiest read: SQLAlchemy's per-statement work was a third of its time).

    `count_cap` (the page): count at most that many matches; when there are more, `total` is the cap
    and `total_exact` is False ("more than 10,000": counting all 100,000 batches of an unfiltered
    list was half of the page's SQL). Past the cap the count is exact again. The API always counts."""
    viewer = viewer_for(actor)
    f = _conditions(query, viewer)
    shape = tuple(f.shape)

    def page() -> Any:
        keys = _SORTS[query.sort] + (Batch.id,)
        order = [k.desc() if query.order == "desc" else k.asc() for k in keys]
        return (
            _item_select()
            .where(*f.conditions())
            .order_by(*order)
            .limit(bindparam("limit", query.page_size, type_=Integer()))
            .offset(bindparam("offset", (query.page - 1) * query.page_size, type_=Integer()))
        )

    rows = fetch(
        ("batches.page", shape, query.sort, query.order),
        page,
        {**f.params, "limit": query.page_size, "offset": (query.page - 1) * query.page_size},
    )
    exact = True
    if query.page == 1 and len(rows) < query.page_size:
        total = len(rows)  # the whole result is on this page: no count needed
    elif count_cap is not None and query.page * query.page_size <= count_cap:
        capped = fetch(
            ("batches.count_capped", shape),
            lambda: select(func.count()).select_from(
                select(Batch.id).where(*f.conditions()).limit(bindparam("cap", type_=Integer())).subquery()
            ),
            {**f.params, "cap": count_cap + 1},
        )
        total = min(capped[0][0], count_cap)
        exact = capped[0][0] <= count_cap
    else:
        count = fetch(
            ("batches.count", shape),
            lambda: select(func.count()).select_from(Batch).where(*f.conditions()),
            f.params,
        )
        total = count[0][0]
    ids = [r.id for r in rows]
    links, extra = order_links(ids, viewer), extensions_hooks.linked_counts(ids)
    items = [_item(r, links, extra) for r in rows]
    if viewer.restricted:  # hospitals: no staff names (issue 14), as in batch_detail
        for item in items:
            item["owner"] = None
    answer = {
        "items": items,
        "total": total,
        "page": query.page,
        "page_size": query.page_size,
    }
    if count_cap is not None:
        answer["total_exact"] = exact
    return answer


def _item(
    r, links: dict[int, dict[str, Any]] | None = None, extra: dict[int, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One batch as the list and the detail show it. Built on every row of every list page (50 a
    page): one dict display per level, no helper calls per row (issue 16: this was a twentieth of a
    list request)."""
    first, last, status = r.owner_first, r.owner_last, r.status
    hot_cell_id, owner_id = r.hot_cell_id, r.owner_id
    item = {
        "id": r.id,
        "batch_no": r.batch_no,
        "status": status,
        "status_label": STATE_LABELS.get(status) or label(status),
        "is_exception": status in EXCEPTION_STATES,
        "qc_status": r.qc_status,
        "qp_disposition": r.qp_disposition,
        "shipment_status": r.shipment_status,
        "product": {"id": r.product_id, "code": r.product_code, "name": r.product_name},
        "site": {"id": r.site_id, "code": r.site_code, "name": r.site_name},
        "hot_cell": None
        if hot_cell_id is None
        else {
            "id": hot_cell_id,
            "code": r.hot_cell_code,
            "name": r.hot_cell_name,
            "module": r.hot_cell_module,
        },
        "owner": None
        if owner_id is None
        else {"id": owner_id, "name": (f"{first} {last}" if first and last else first or last or None)},
        "planned_start_at": r.planned_start_at,
        "planned_end_at": r.planned_end_at,
        "actual_start_at": r.actual_start_at,
        "actual_end_at": r.actual_end_at,
        "released_at": r.released_at,
        "planned_activity_mbq": r.planned_activity_mbq,
        "actual_yield_mbq": r.actual_yield_mbq,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "version": r.version,
    }
    item.update(linked_counts(r.id, links, extra))
    return item


_CLOSED_ORDERS = ("CANCELLED", "REJECTED")


def order_links(batch_ids: list[int], viewer: Viewer) -> dict[int, dict[str, Any]]:
    """Per batch: how many live orders are linked and the earliest delivery window (local time,
    zone named), in one query for a page of the list. A hospital counts only its own orders."""
    if not batch_ids:
        return {}

    def links() -> Any:
        query = (
            select(BatchOrder.batch_id, DeliveryWindow.start_at, DeliveryWindow.end_at)
            .join(Order, Order.id == BatchOrder.order_id)
            .join(DeliveryWindow, DeliveryWindow.id == Order.window_id)
            .where(any_of(BatchOrder.batch_id, [], name="ids"), Order.status.not_in(_CLOSED_ORDERS))
        )
        return _own(query, Order.customer_id, viewer)

    rows = fetch(
        ("batches.order_links", viewer.restricted),
        links,
        {"ids": list(batch_ids), "viewer_customer": viewer.customer_id},
    )
    tz = ZoneInfo(current_app.config["SITE_TIMEZONE"])
    out: dict[int, dict[str, Any]] = {}
    for batch_id, start_at, end_at in rows:
        entry = out.setdefault(batch_id, {"count": 0, "start_at": start_at, "end_at": end_at})
        entry["count"] += 1
        if start_at < entry["start_at"]:
            entry.update(start_at=start_at, end_at=end_at)
    for entry in out.values():
        start, end = entry["start_at"].astimezone(tz), entry["end_at"].astimezone(tz)
        entry["label"] = f"{start:%d %b %H:%M}–{end:%H:%M} {start:%Z}"
    return out


def linked_counts(
    batch_id: int,
    links: dict[int, dict[str, Any]] | None = None,
    extra: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Dose units, orders and shipments of a batch (dose units and shipments: zero until those
    modules are wired in). `links` and `extra` are read for a whole page at once (`order_links`,
    `extensions_hooks.linked_counts`): no query per row."""
    link = links.get(batch_id) if links else None
    counts = {
        "dose_units": {"planned": 0, "dispensed": 0, "packed": 0, "shipped": 0},
        "orders_count": 0,
        "shipments_count": 0,
        "delivery_window": None,
        "delivery_window_start_at": None,
    }
    if link:
        counts.update(
            orders_count=link["count"],
            delivery_window=link["label"],
            delivery_window_start_at=link["start_at"],
        )
    if extra:
        counts.update(extra.get(batch_id, ()))
    return counts


def batch_orders(batch_id: int, viewer: Viewer) -> list[dict[str, Any]]:
    """The orders linked to a batch (a hospital sees only its own), earliest window first."""
    from app.orders import queries as order_queries

    def linked() -> Any:
        query = (
            select(Order.id)
            .join(BatchOrder, BatchOrder.order_id == Order.id)
            .join(DeliveryWindow, DeliveryWindow.id == Order.window_id)
            .where(BatchOrder.batch_id == bindparam("batch_id", batch_id, type_=Integer()))
            .order_by(DeliveryWindow.start_at, Order.id)
        )
        return _own(query, Order.customer_id, viewer)

    # The ids first, in order, on the lean path: most batches on a journey have none, and those that
    # have some load them with what an order item shows (window, slot, customer, product).
    ids = [
        r.id
        for r in fetch(
            ("batches.orders", viewer.restricted),
            linked,
            {"batch_id": batch_id, "viewer_customer": viewer.customer_id},
        )
    ]
    if not ids:
        return []
    found = {o.id: o for o in db.session.execute(select(Order).where(Order.id.in_(ids))).scalars()}
    return [order_queries.order_item(found[i]) for i in ids if i in found]


# --- one batch ---------------------------------------------------------------------------------
def get_visible(batch_id: int, actor: Actor) -> Batch:
    """The batch if this person may see it; 404 otherwise (a hospital never learns it exists)."""
    viewer = viewer_for(actor)
    conditions = [Batch.id == batch_id]
    visible = _visible(viewer)
    if visible is not None:
        conditions.append(visible)
    batch = db.session.execute(select(Batch).where(*conditions)).scalar_one_or_none()
    if batch is None:
        raise NotFound("batch")
    return batch


def batch_detail(batch_id: int, actor: Actor) -> dict[str, Any]:
    """The batch plus what the journey shows: milestones, next step, the caller's allowed actions,
    dose-unit / order / shipment counts, linked hospitals and deviations (404 if not visible)."""
    viewer = viewer_for(actor)

    def one() -> Any:
        events_count = (
            select(func.count())
            .select_from(BatchEvent)
            .where(BatchEvent.batch_id == Batch.id)
            .scalar_subquery()
        )
        visible = _visible(viewer)
        return (
            _item_select()
            .add_columns(events_count.label("events_count"))
            .where(
                Batch.id == bindparam("batch_id", batch_id, type_=Integer()),
                *([visible] if visible is not None else []),
            )
        )

    rows = fetch(
        ("batches.detail", viewer.restricted, viewer.customer_id is None),
        one,
        {"batch_id": batch_id, "viewer_customer": viewer.customer_id},
    )
    if not rows:
        raise NotFound("batch")
    row = rows[0]
    detail = _item(row, order_links([batch_id], viewer), extensions_hooks.linked_counts([batch_id]))
    ctx = batch_context(row)  # the row carries id, status and status_before_exception
    allowed = (
        []
        if viewer.restricted
        else batch_flow.allowed_actions(
            ctx, actor.roles, allow_admin_override=bool(current_app.config.get("ALLOW_ADMIN_OVERRIDE"))
        )
    )
    step = batch_flow.next_step(ctx)
    prior = row.status_before_exception
    detail.update(
        status_before_exception=prior,
        status_before_exception_label=label(prior) if prior else None,
        qc_session_status=ctx.qc_session_status,
        milestones=batch_journey.milestones(row.status, prior, _reached(batch_id)),
        next_step=None if step is None else _next_step(step, allowed),
        allowed_actions=[a.as_dict() for a in allowed],
        customers=_customers(batch_id, viewer),
        deviations=[] if viewer.restricted else _deviations(batch_id),
        orders=batch_orders(batch_id, viewer),
        events_count=row.events_count,
    )
    if viewer.restricted:  # hospitals: no staff names or blocking reasons on the stepper
        from app.batches.customer_view import customer_milestones

        detail["milestones"] = customer_milestones(detail["milestones"])
        detail["owner"] = None
    return detail


def _next_step(step: batch_flow.Transition, allowed: list[batch_flow.Action]) -> dict[str, Any]:
    return {
        "title": step.label,
        "to_status": step.dest,
        "to_status_label": label(step.dest),
        "owner_roles": list(step.roles),
        "owner_role": " or ".join(step.roles),
        "automatic": step.roles == (batch_flow.SYSTEM_ROLE,),
        "you_can": any(a.trigger == step.trigger and a.to_status == step.dest for a in allowed),
    }


def _reached(batch_id: int) -> dict[str, batch_journey.Reached]:
    """The latest event into each status (one row per status, from the batch's event index)."""
    rows = fetch(
        "batches.reached",
        lambda: (
            select(
                BatchEvent.to_status,
                BatchEvent.occurred_at,
                BatchEvent.actor_name,
                BatchEvent.actor_role,
                BatchEvent.note,
            )
            .where(
                BatchEvent.batch_id == bindparam("batch_id", batch_id, type_=Integer()),
                BatchEvent.to_status.is_not(None),
            )
            .order_by(BatchEvent.to_status, BatchEvent.occurred_at.desc(), BatchEvent.id.desc())
            .distinct(BatchEvent.to_status)
        ),
        {"batch_id": batch_id},
    )
    return {
        r.to_status: batch_journey.Reached(r.occurred_at, r.actor_name, r.actor_role, r.note) for r in rows
    }


def _customers(batch_id: int, viewer: Viewer) -> list[dict[str, Any]]:
    def customers() -> Any:
        query = (
            select(Customer.id, Customer.code, Customer.name)
            .join(batch_customer, batch_customer.c.customer_id == Customer.id)
            .where(batch_customer.c.batch_id == bindparam("batch_id", batch_id, type_=Integer()))
            .order_by(Customer.code)
        )
        # A hospital sees itself, not the other hospitals served by the batch.
        return _own(query, Customer.id, viewer)

    rows = fetch(
        ("batches.customers", viewer.restricted),
        customers,
        {"batch_id": batch_id, "viewer_customer": viewer.customer_id},
    )
    return [{"id": r.id, "code": r.code, "name": r.name} for r in rows]


def _deviations(batch_id: int) -> list[dict[str, Any]]:
    rows = fetch(
        "batches.deviations",
        lambda: (
            select(
                Deviation.id,
                Deviation.batch_id,
                Deviation.status,
                Deviation.reason,
                Deviation.from_status,
                Deviation.opened_by_name,
                Deviation.opened_at,
                Deviation.closed_by_name,
                Deviation.closed_at,
                Deviation.closing_note,
            )
            .where(Deviation.batch_id == bindparam("batch_id", batch_id, type_=Integer()))
            .order_by(Deviation.id)
        ),
        {"batch_id": batch_id},
    )
    return [deviation_dict(d) for d in rows]


def deviation_dict(d: Any) -> dict[str, Any]:
    """A deviation (the model or a row with its columns) as the API and pages show it."""
    return {
        "id": d.id,
        "batch_id": d.batch_id,
        "status": d.status,
        "reason": d.reason,
        "from_status": d.from_status,
        "opened_by": d.opened_by_name,
        "opened_at": d.opened_at,
        "closed_by": d.closed_by_name,
        "closed_at": d.closed_at,
        "closing_note": d.closing_note,
    }


# --- the timeline ------------------------------------------------------------------------------
def batch_events(batch_id: int, actor: Actor, *, visible_checked: bool = False) -> list[dict[str, Any]]:
    """Every event of a visible batch, oldest first; metadata and trace ids for internal roles only.
    `visible_checked`: the caller has just read this batch for this person (the journey page, after
    `batch_detail`), so the 404 check is not asked again."""
    viewer = viewer_for(actor)
    visible = _visible(viewer)
    query = select(BatchEvent.__table__).where(BatchEvent.batch_id == batch_id)
    if visible is not None and not visible_checked:  # the batch's visibility in the same statement
        query = query.join(Batch, Batch.id == BatchEvent.batch_id).where(visible)
    rows = db.session.execute(query.order_by(BatchEvent.occurred_at, BatchEvent.id)).all()
    if not rows and not visible_checked:  # no event seen: an empty timeline, or not this person's batch
        where = [Batch.id == batch_id, *([visible] if visible is not None else [])]
        if not db.session.execute(select(Batch.id).where(*where)).first():
            raise NotFound("batch")
    events = [_event_dict(r, internal=not viewer.restricted) for r in rows]
    if viewer.restricted:  # hospitals: customer-facing milestones only (page, API and exports)
        from app.batches.customer_view import customer_events

        return customer_events(events)
    return events


# The API's timeline for internal roles, written as JSON by PostgreSQL in one statement: the same
# fields and values as `batch_events` + the API's encoder (times as ISO 8601 UTC with "Z", fractions
# only when not zero; labels from the state table; metadata as stored), with no row built in Python.
# A 300-event timeline was two thirds Python (rows, dicts, encoding) against one third database.
def _utc_text(column: str) -> str:
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN extract(microseconds FROM {column})::bigint"
        f" % 1000000 = 0 THEN '' ELSE to_char({utc}, '.US') END || 'Z'"
    )


_EVENTS_JSON = text(
    f"""
    SELECT EXISTS (SELECT 1 FROM batch WHERE id = :batch_id) AS found,
           json_build_object(
               'items', coalesce(json_agg(json_build_object(
                   'id', e.id,
                   'event_type', e.event_type,
                   'title', e.title,
                   'from_status', e.from_status,
                   'from_status_label', coalesce(CAST(:labels AS jsonb) ->> e.from_status, e.from_status),
                   'to_status', e.to_status,
                   'to_status_label', coalesce(CAST(:labels AS jsonb) ->> e.to_status, e.to_status),
                   'actor', json_build_object('id', e.actor_user_id, 'name', e.actor_name, 'role', e.actor_role),
                   'occurred_at', {_utc_text("e.occurred_at")},
                   'note', e.note,
                   'is_override', e.is_override,
                   'signature_id', e.signature_id,
                   'metadata', e.metadata,
                   'trace_id', e.trace_id
               ) ORDER BY e.occurred_at, e.id), '[]'::json),
               'count', count(e.id)
           )::text AS body
      FROM batch_event e
     WHERE e.batch_id = :batch_id
    """
)
_STATE_LABELS_JSON = json.dumps({s: label(s) for s in STATES}, ensure_ascii=False)


def batch_events_answer(batch_id: int, actor: Actor) -> str | bytes:
    """`{"items": [...], "count": n}` as JSON text for this person: written by the database for
    internal roles (`batch_events_json`), the customer-facing timeline (`batch_events`) for hospitals."""
    if not viewer_for(actor).restricted:
        return batch_events_json(batch_id)
    items = batch_events(batch_id, actor)
    return dumps({"items": items, "count": len(items)})


def batch_events_json(batch_id: int) -> str:
    """`{"items": [...], "count": n}` of an internal viewer's timeline as JSON text (404 if no batch).
    Hospitals get `batch_events` (their customer-facing view is filtered in Python)."""
    # Through the lean executor: the statement's own work is the answer, SQLAlchemy's per-statement
    # handling was a tenth of the request.
    (row,) = execute(
        ("batches.events_json",), lambda: _EVENTS_JSON, {"batch_id": batch_id, "labels": _STATE_LABELS_JSON}
    )
    if not row.found:
        raise NotFound("batch")
    return str(row.body)


def _event_dict(r, *, internal: bool) -> dict[str, Any]:
    out = {
        "id": r.id,
        "event_type": r.event_type,
        "title": r.title,
        "from_status": r.from_status,
        "from_status_label": label(r.from_status) if r.from_status else None,
        "to_status": r.to_status,
        "to_status_label": label(r.to_status) if r.to_status else None,
        "actor": {"id": r.actor_user_id, "name": r.actor_name, "role": r.actor_role},
        "occurred_at": r.occurred_at,
        "note": r.note,
        "is_override": r.is_override,
        "signature_id": r.signature_id,
    }
    if internal:
        out["metadata"] = r._mapping["metadata"]
        out["trace_id"] = r.trace_id
    return out


# --- KPI cards ---------------------------------------------------------------------------------
def batch_metrics(actor: Actor, now: dt.datetime | None = None) -> dict[str, Any]:
    """The cards above the list, each with the filter that shows its batches."""
    viewer = viewer_for(actor)
    visible = _visible(viewer)
    tz = ZoneInfo(current_app.config["SITE_TIMEZONE"])
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(tz).date()
    day_start = dt.datetime.combine(today, dt.time(), tz)
    week_ago = now - dt.timedelta(days=7)

    def count(*conditions) -> Any:
        where = [*conditions, *([visible] if visible is not None else [])]
        return select(func.count()).select_from(Batch).where(*where).scalar_subquery()

    # The release lead time: internal viewers get the KPI page's own figure (the same on both pages,
    # read by its own query, not computed here as well); a hospital's is read here, over its own
    # batches only (and everyone's when the KPI part is not there).
    own_lead: tuple[Any, ...] = ()
    if visible is not None or not batch_hooks.has_release_lead():
        released = and_(Batch.released_at >= week_ago, Batch.actual_end_at.is_not(None))
        own_lead = (
            select(func.avg(func.extract("epoch", Batch.released_at - Batch.actual_end_at) / 60))
            .where(released, *([visible] if visible is not None else []))
            .scalar_subquery(),
            count(released),
        )
    row = db.session.execute(
        select(
            count(
                Batch.planned_start_at >= day_start, Batch.planned_start_at < day_start + dt.timedelta(days=1)
            ),
            count(Batch.status.in_(AWAITING_QC)),
            count(Batch.status.in_(AWAITING_QP)),
            count(Batch.status.in_(ACTIVE_EXCEPTIONS)),
            *own_lead,
        )
    ).one()
    if own_lead:
        avg_lead, lead_batches = None if row[4] is None else round(float(row[4]), 1), row[5]
    else:  # the KPI part answers None when no batch was released in the week
        lead = batch_hooks.release_lead(week_ago, now)
        avg_lead, lead_batches = (lead["avg_min"], lead["batches"]) if lead is not None else (None, 0)
    return {
        "batches_today": row[0],
        "awaiting_qc": row[1],
        "awaiting_qp_release": row[2],
        "on_hold_exceptions": row[3],
        "avg_release_lead_time_min": avg_lead,
        "release_lead_time_batches": lead_batches,
        "utilization": batch_hooks.utilization(now)
        or {
            "reserved_min": None,
            "committed_min": None,
            "reason": "Capacity planning (reservations and delivery windows) is not enabled yet.",
        },
        "filters": {
            "batches_today": {
                "date_field": "planned",
                "date_from": today.isoformat(),
                "date_to": today.isoformat(),
            },
            "awaiting_qc": {"status": list(AWAITING_QC)},
            "awaiting_qp_release": {"status": list(AWAITING_QP)},
            "on_hold_exceptions": {"status": list(ACTIVE_EXCEPTIONS)},
        },
        "as_of": now,
        "timezone": str(tz),
    }

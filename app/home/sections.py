"""What each role finds on its first screen: its work, most urgent first, each item with its next act.

Every section reads through the query the part's own page uses (the batch list's `list_batches`, the
QC worklist, the QP release queue, the audit trail's search), so the home page never counts
differently from the page its button opens. A section's `empty` text says honestly that there is
nothing to do (never a false zero for a feature that is not recorded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from sqlalchemy import select

from app.batches import queries as batch_queries
from app.batches.filters import ListQuery
from app.batches.models import Deviation
from app.core.actor import Actor
from app.core.extensions import db
from app.core.web import fmt_local, site_tz

ITEM_LIMIT = 8


@dataclass
class Item:
    title: str
    subtitle: str = ""
    badge: tuple[str, str | None] | None = None  # (look kind, value) for the status badge macro
    note: str = ""
    tone: str = ""  # "", "warn" or "bad": draws attention to an overdue or blocked item
    action_label: str = "Open"
    action_url: str = ""


@dataclass
class Section:
    key: str
    title: str
    icon: str
    items: list[Item] = field(default_factory=list)
    total: int = 0
    empty: str = "Nothing waiting."
    more_label: str = ""
    more_url: str = ""
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, url) shown in the heading
    ids: list[int] = field(default_factory=list)  # the records behind the items, in order


def _local_day_bounds(now: dt.datetime, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    """Today's start and the start of the day `days` later, in the site's zone, as UTC instants."""
    tz = site_tz()
    today = now.astimezone(tz).date()
    start = dt.datetime.combine(today, dt.time(0), tz)
    end = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(0), tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _batches(actor: Actor, **filters: Any) -> dict[str, Any]:
    return batch_queries.list_batches(ListQuery(page_size=ITEM_LIMIT, **filters), actor)


def _batch_item(
    b: dict[str, Any], action: str, note: str = "", tone: str = "", *, internal: bool = True
) -> Item:
    cell = ((b.get("hot_cell") or {}).get("name") or "") if internal else ""  # hot cells are internal
    when = fmt_local(b["planned_start_at"], "%a %d %b %H:%M")
    return Item(
        title=b["batch_no"],
        subtitle=" · ".join(p for p in (b["product"]["name"], f"planned {when}", cell) if p),
        badge=("batch", b["status"]),
        note=note,
        tone=tone,
        action_label=action,
        action_url=url_for("BatchPagesView.journey", batch_id=b["id"]),
    )


def _list_url(**args: Any) -> str:
    return url_for("BatchPagesView.index", **args)


def _batch_queue(
    actor: Actor, key: str, title: str, icon: str, statuses: tuple[str, ...], action: str, empty: str
) -> Section:
    """A queue that is a filter of the batch list (same query as the list the footer link opens)."""
    page = _batches(actor, statuses=statuses, sort="planned_at", order="asc")
    items = [_batch_item(b, action) for b in page["items"]]
    return Section(
        key,
        title,
        icon,
        items,
        page["total"],
        empty,
        "Open the batch list",
        _list_url(status=",".join(statuses)),
        ids=[b["id"] for b in page["items"]],
    )


# --- production ------------------------------------------------------------------------------------
# A batch whose planned start passed within this window is still to start, even when the local day
# has changed since (a night shift's 23:30 start is the most urgent item at 00:15, not gone).
LATE_WINDOW = dt.timedelta(hours=24)


def production_to_start(actor: Actor, now: dt.datetime) -> Section:
    _, end = _local_day_bounds(now, days=2)  # to the end of tomorrow, site time
    start = now - LATE_WINDOW  # always before today's local midnight: late ones stay listed
    page = _batches(
        actor, statuses=("PLANNED", "SCHEDULED"), date_from=start, date_to=end, sort="planned_at", order="asc"
    )
    items = []
    for b in page["items"]:
        late = b["planned_start_at"] < now
        items.append(
            _batch_item(
                b, "Start production", "Planned start has passed" if late else "", "warn" if late else ""
            )
        )
    return Section(
        "to_start",
        "Batches to start: late, today and tomorrow",
        "fa-play-circle",
        items,
        page["total"],
        "No batch is planned to start today or tomorrow.",
        "Open the batch list",
        _list_url(status="PLANNED,SCHEDULED", date_from=start.astimezone(site_tz()).date().isoformat()),
    )


def production_in_progress(actor: Actor, now: dt.datetime) -> Section:
    return _batch_queue(
        actor, "in_production", "Batches in production", "fa-cogs", ("IN_PRODUCTION", "PRODUCTION_COMPLETE"),
        "Record progress", "No batch is in production right now.",
    )  # fmt: skip


def my_open_deviations(actor: Actor, now: dt.datetime) -> Section:
    rows = db.session.execute(
        select(Deviation.id, Deviation.batch_id, Deviation.reason, Deviation.opened_at)
        .where(Deviation.status == "OPEN", Deviation.opened_by_id == actor.user_id)
        .order_by(Deviation.opened_at)
        .limit(ITEM_LIMIT)
    ).all()
    from app.batches.models import Batch

    numbers = dict(
        db.session.execute(
            select(Batch.id, Batch.batch_no).where(Batch.id.in_({r.batch_id for r in rows}))
        ).all()
    )
    items = [
        Item(
            title=numbers.get(r.batch_id, f"Batch {r.batch_id}"),
            subtitle=f"opened {fmt_local(r.opened_at, '%d %b %H:%M')}",
            note=r.reason if len(r.reason) <= 140 else r.reason[:137] + "…",
            tone="warn",
            action_label="Follow up",
            action_url=url_for("BatchPagesView.journey", batch_id=r.batch_id),
        )
        for r in rows
    ]
    return Section(
        "deviations",
        "Open deviations you raised",
        "fa-exclamation-triangle",
        items,
        len(items),
        "You have no open deviation.",
    )


# --- QC ----------------------------------------------------------------------------------------------
def _worklist(
    queue: str, title: str, icon: str, action: str, empty: str
) -> Callable[[Actor, dt.datetime], Section]:
    def build(actor: Actor, now: dt.datetime) -> Section:
        from app.qc import reports as qc_reports

        wl = qc_reports.worklist()
        rows = [i for i in wl["items"] if i["queue"] == queue]
        rows.sort(key=lambda i: i["batch_id"])  # oldest first
        items = [
            Item(
                title=i["batch_no"],
                subtitle=f"{i['product']} · {i['progress']} tests done",
                note=(f"{i['failed']} failed" if i["failed"] else "") or (i["warning"] or ""),
                tone="bad" if i["failed"] else "",
                action_label=action,
                action_url=url_for("QcBatchView.page", batch_id=i["batch_id"]),
            )
            for i in rows[:ITEM_LIMIT]
        ]
        return Section(queue, title, icon, items, len(rows), empty, "Open the QC worklist", "/qc/")

    return build


qc_results_to_enter = _worklist(
    "entry", "Results to enter", "fa-flask", "Enter results", "No batch is waiting for QC results."
)
qc_after_release = _worklist(
    "after_release",
    "After-release tests pending",
    "fa-hourglass-half",
    "Enter results",
    "No after-release test (sterility, …) is pending.",
)
qc_to_review = _worklist(
    "review",
    "QC sessions waiting for your review",
    "fa-check-square-o",
    "Review",
    "No QC session is waiting for review.",
)


def qc_templates_in_draft(actor: Actor, now: dt.datetime) -> Section:
    from app.masterdata.models import Product
    from app.qc.models import ProductQcTemplate

    rows = db.session.execute(
        select(ProductQcTemplate.id, ProductQcTemplate.product_id, ProductQcTemplate.version, Product.name_en)
        .join(Product, Product.id == ProductQcTemplate.product_id)
        .where(ProductQcTemplate.status == "DRAFT")
        .order_by(ProductQcTemplate.id)
    ).all()
    items = [
        Item(
            title=f"{r.name_en} — version {r.version}",
            subtitle="Draft: review and activate with your e-signature",
            action_label="Open draft",
            action_url=f"/qc/templates/{r.product_id}",
        )
        for r in rows[:ITEM_LIMIT]
    ]
    return Section(
        "drafts",
        "QC templates in draft",
        "fa-list-ol",
        items,
        len(rows),
        "No QC template is in draft.",
        "All QC templates",
        "/qc/templates/",
    )


def qc_open_oos(actor: Actor, now: dt.datetime) -> Section:
    from app.batches.models import Batch
    from app.qc.models import OosCase

    rows = db.session.execute(
        select(
            OosCase.id, OosCase.batch_id, OosCase.reason, OosCase.status, OosCase.opened_at, Batch.batch_no
        )
        .join(Batch, Batch.id == OosCase.batch_id)
        .where(OosCase.status != "CLOSED")
        .order_by(OosCase.opened_at)
    ).all()
    items = [
        Item(
            title=r.batch_no,
            subtitle=f"opened {fmt_local(r.opened_at, '%d %b %H:%M')} · {r.status.replace('_', ' ').capitalize()}",
            note=r.reason if len(r.reason) <= 140 else r.reason[:137] + "…",
            tone="bad",
            action_label="Investigate",
            action_url=url_for("QcBatchView.page", batch_id=r.batch_id),
        )
        for r in rows[:ITEM_LIMIT]
    ]
    return Section(
        "oos",
        "Open OOS cases",
        "fa-exclamation-circle",
        items,
        len(rows),
        "No OOS case is open.",
        "QC reports",
        "/qc/reports?kind=oos",
    )


# --- QP -----------------------------------------------------------------------------------------------
def _time_left(expires_at: dt.datetime | None, now: dt.datetime) -> tuple[str, str]:
    if expires_at is None:
        return "", ""
    left = (expires_at.astimezone(dt.UTC) - now.astimezone(dt.UTC)).total_seconds()
    if left <= 0:
        return "Shelf life over", "bad"
    hours, rest = divmod(int(left // 60), 60)
    text = f"{hours} h {rest} min of shelf life left" if hours else f"{rest} min of shelf life left"
    return text, "warn" if left < 2 * 3600 else ""


def qp_release_queue(actor: Actor, now: dt.datetime) -> Section:
    from app.masterdata.models import Product
    from app.release import review

    queue = review.queue(now)
    shelf = dict(
        db.session.execute(
            select(Product.id, Product.shelf_life_min).where(
                Product.id.in_({b["product"]["id"] for b in queue})
            )
        ).all()
    )
    items = []
    for b in queue[:ITEM_LIMIT]:
        n = b["exceptions_count"]
        eos = b["production_end_at"]
        expires = eos + dt.timedelta(minutes=shelf[b["product"]["id"]]) if eos is not None else None
        left, tone = _time_left(expires, now)
        items.append(
            Item(
                title=b["batch_no"],
                subtitle=f"{b['product']['name']} · {'no exceptions' if n == 0 else f'{n} exception' + ('s' if n > 1 else '')}",
                badge=("batch", b["status"]),
                note=left,
                tone=tone,
                action_label="Review",
                action_url=url_for("ReleaseView.review", pk=b["id"]),
            )
        )
    return Section(
        "release",
        "Release queue",
        "fa-certificate",
        items,
        len(queue),
        "No batch is waiting for the QP.",
        "Open the release queue",
        url_for("ReleaseView.index"),
    )


# --- dispensing and logistics ------------------------------------------------------------------------
def dispensing_released(actor: Actor, now: dt.datetime) -> Section:
    from app.dispensing import queries as dispensing_queries

    section = _batch_queue(
        actor, "to_dispense", "Released batches to dispense", "fa-eyedropper", ("RELEASED", "DISPENSING_IN_PROGRESS"),
        "Dispense", "No released batch is waiting for dispensing.",
    )  # fmt: skip
    counts = dispensing_queries.counts_many(list(section.ids))  # one query for the whole queue
    for item, batch_id in zip(section.items, section.ids, strict=True):
        doses = counts[batch_id]["dose_units"]
        item.note = (
            f"{doses['dispensed']} of {doses['planned']} doses dispensed"
            if doses["planned"]
            else "No dose planned yet: plan the doses from the batch's orders"
        )
        item.action_url = url_for("DispensingView.batch", batch_id=batch_id)
    return section


def logistics_to_ship(actor: Actor, now: dt.datetime) -> Section:
    return _batch_queue(
        actor, "to_ship", "Dispensed batches to pack and dispatch", "fa-truck", ("DISPENSED", "PACKED"),
        "Pack and dispatch", "Nothing is waiting to be packed or dispatched.",
    )  # fmt: skip


# --- planner -----------------------------------------------------------------------------------------
def planner_unscheduled(actor: Actor, now: dt.datetime) -> Section:
    return _batch_queue(
        actor, "planned", "Planned batches not yet scheduled", "fa-calendar", ("PLANNED",), "Schedule",
        "Every planned batch is scheduled.",
    )  # fmt: skip


# --- customer -------------------------------------------------------------------------------------------
def customer_batches(actor: Actor, now: dt.datetime) -> Section:
    page = _batches(actor, sort="planned_at", order="desc")
    items = [_batch_item(b, "Follow", internal=False) for b in page["items"]]
    return Section(
        "my_batches",
        "Batches for your hospital",
        "fa-flask",
        items,
        page["total"],
        "No batch is linked to your hospital yet.",
        "All your batches",
        _list_url(),
    )


# --- auditor and admin -------------------------------------------------------------------------------------
def audit_overview(actor: Actor, now: dt.datetime) -> Section:
    from app.audit import labels
    from app.audit import queries as audit_queries

    last = audit_queries.latest_verification()
    rows, total = audit_queries.search(audit_queries.AuditFilters(), site_tz(), 1, 6)
    items = [
        Item(
            title=f"{labels.action_label(r.action)} · {labels.entity_label(r.entity_type)}",
            subtitle=f"{fmt_local(r.occurred_at, '%d %b %H:%M')} · {r.actor_name}",
            note=(r.reason or "")[:140],
            action_label="Open",
            action_url=url_for("AuditView.index", entity_type=r.entity_type, entity_id=r.entity_id),
        )
        for r in rows
    ]
    if last is None:
        verdict = ("Never verified", "warn")
    else:
        verdict = (
            f"Last verification {fmt_local(last.verified_at, '%d %b %H:%M')}: "
            + ("OK" if last.ok else "BROKEN — see the audit trail"),
            "" if last.ok else "bad",
        )
    sec = Section(
        "audit",
        "Audit trail",
        "fa-shield",
        items,
        total,
        "The audit trail is empty.",
        "Open the audit trail",
        url_for("AuditView.index"),
    )
    sec.items.insert(
        0,
        Item(
            title="Hash chain",
            subtitle=verdict[0],
            tone=verdict[1],
            action_label="Verify now",
            action_url=url_for("AuditView.index") + "#verify",
        ),
    )
    return sec


def admin_problems(actor: Actor, now: dt.datetime) -> Section:
    from app.masterdata.models import Product
    from app.qc.models import ProductQcTemplate
    from app.security.esign import current_lock_state
    from app.security.models import SignatureFailure

    items: list[Item] = []
    active = select(ProductQcTemplate.product_id).where(ProductQcTemplate.status == "ACTIVE")
    for p in db.session.execute(
        select(Product.id, Product.name_en)
        .where(Product.active.is_(True), Product.id.not_in(active))
        .order_by(Product.code)
    ):
        items.append(
            Item(
                title=p.name_en,
                subtitle="No active QC template: its batches cannot pass QC",
                tone="warn",
                action_label="Open QC templates",
                action_url=f"/qc/templates/{p.id}",
            )
        )
    since = now - dt.timedelta(days=1)
    user_ids = db.session.execute(
        select(SignatureFailure.user_id)
        .where(SignatureFailure.failed_at >= since)
        .group_by(SignatureFailure.user_id)
    ).scalars()
    for uid in user_ids:
        if uid is None:
            continue
        state = current_lock_state(uid, now)
        if state.locked:
            items.append(
                Item(
                    title=f"User {uid} is locked out of signing",
                    subtitle=f"until {fmt_local(state.locked_until, '%H:%M')} after repeated wrong passwords",
                    tone="bad",
                    action_label="Open user",
                    action_url=url_for("UserDBModelView.show", pk=uid),
                )
            )
    return Section(
        "problems",
        "Problems to fix",
        "fa-wrench",
        items,
        len(items),
        "No configuration problem found: every active product has an active QC template and nobody is locked out of signing.",
        buttons=[
            ("Products", url_for("ProductModelView.list")),
            ("Users", url_for("UserDBModelView.list")),
            ("Roles", url_for("RoleModelView.list")),
            ("QP release rights", url_for("QpAuthorisationView.list")),
        ],
    )


# --- capacity, orders and planning -----------------------------------------------------------------
def _window_text(date_iso: str, start: str, end: str) -> str:
    day = dt.date.fromisoformat(date_iso)
    return f"{day:%a %d %b} {start}–{end}"


def planner_windows(actor: Actor, now: dt.datetime) -> Section:
    from app.capacity import queries as capacity_queries

    today = now.astimezone(site_tz()).date()
    rows = [w for d in (today, today + dt.timedelta(days=1)) for w in capacity_queries.day_usage(d, now)]
    items = []
    for w in rows:
        if w["closed"]:
            subtitle, tone = "Closed", ""
        else:
            subtitle = (
                f"reserved {w['held_minutes']} · committed {w['committed_minutes']} · "
                f"free {w['free_minutes']} of {w['total_minutes']} min"
            )
            tight = w["total_minutes"] and w["free_minutes"] <= 0.1 * w["total_minutes"]
            tone = "bad" if w["overbooked_minutes"] else "warn" if tight else ""
        items.append(
            Item(
                title=_window_text(w["date"], w["start"], w["end"]),
                subtitle=subtitle,
                tone=tone,
                action_label="Open planner",
                action_url=url_for("PlannerView.index", date=w["date"]),
            )
        )
    return Section(
        "windows",
        "Delivery windows today and tomorrow",
        "fa-clock-o",
        items[:ITEM_LIMIT],
        len(rows),
        "No delivery window is open today or tomorrow (capacity admin generates them from the weekly pattern).",
        "Open the planner",
        url_for("PlannerView.index"),
    )


def _order_item(o: dict[str, Any], action: str, url: str, note: str = "", tone: str = "") -> Item:
    w = o["window"]
    return Item(
        title=f"{o['order_no']} · {o['customer']['name']}",
        subtitle=f"{o['product']['name']} · {o['dose_count']} doses · window {_window_text(w['date'], w['start'], w['end'])}",
        note=note,
        tone=tone,
        action_label=action,
        action_url=url,
    )


def orders_to_validate(actor: Actor, now: dt.datetime) -> Section:
    from app.orders import queries as order_queries

    queue = order_queries.validation_queue(actor)
    items = []
    for o in queue[:ITEM_LIMIT]:
        failed = [c for c in o["checklist"] if not c["ok"]]
        note = (
            "; ".join(c.get("message") or c.get("label", "") for c in failed)
            if failed
            else "Checklist passes"
        )
        items.append(
            _order_item(o, "Validate", url_for("ValidationQueueView.index"), note, "warn" if failed else "")
        )
    return Section(
        "to_validate",
        "Orders waiting for validation",
        "fa-check-square-o",
        items,
        len(queue),
        "No order is waiting for validation.",
        "Open the validation queue",
        url_for("ValidationQueueView.index"),
    )


def orders_to_plan(actor: Actor, now: dt.datetime) -> Section:
    from app.orders import queries as order_queries

    pool = [order_queries.order_item(o) for o in order_queries.validated_unplanned()]
    items = [
        _order_item(o, "Plan a batch", url_for("PlannerView.index", date=o["window"]["date"]))
        for o in pool[:ITEM_LIMIT]
    ]
    return Section(
        "to_plan",
        "Validated orders without a batch plan",
        "fa-sitemap",
        items,
        len(pool),
        "Every validated order is planned into a batch.",
        "Open the planner",
        url_for("PlannerView.index"),
        buttons=[("Plan a batch", url_for("PlannerView.index"))],
    )


def customer_reservations(actor: Actor, now: dt.datetime) -> Section:
    from app.capacity import queries as capacity_queries
    from app.capacity.models import Reservation

    restricted, customer_id = capacity_queries.customer_of(actor)
    rows = (
        db.session.execute(
            select(Reservation)
            .where(
                Reservation.customer_id == customer_id,
                Reservation.status == "HELD",
                Reservation.expires_at > now,
            )
            .order_by(Reservation.expires_at)
        )
        .scalars()
        .all()
    )
    items = []
    for r in rows[:ITEM_LIMIT]:
        left = max(0, int((r.expires_at - now).total_seconds() // 60))
        w = r.window
        items.append(
            Item(
                title=f"{r.reference} · {r.product.name_en}",
                subtitle=f"{r.dose_count} doses · window {w.local_date:%a %d %b} {w.start_time:%H:%M}–{w.end_time:%H:%M}",
                note=f"Held for you for {left} more minute{'s' if left != 1 else ''} (until {fmt_local(r.expires_at, '%H:%M')})",
                tone="warn" if left < 5 else "",
                action_label="Create order",
                action_url=url_for("OrderPagesView.new", reservation_id=r.id),
            )
        )
    return Section(
        "holds",
        "Your held reservations",
        "fa-hourglass-half",
        items,
        len(rows),
        "You hold no reservation right now.",
        "Book capacity",
        url_for("BookCapacityView.book"),
        buttons=[("Book capacity", url_for("BookCapacityView.book"))],
    )


OPEN_ORDER_STATUSES = (
    "SUBMITTED",
    "VALIDATED",
    "SCHEDULED",
    "IN_PRODUCTION",
    "RELEASED",
    "DISPENSED",
    "SHIPPED",
)


def customer_open_orders(actor: Actor, now: dt.datetime) -> Section:
    from app.orders import domain as order_domain
    from app.orders import queries as order_queries

    page = order_queries.list_orders(
        order_queries.OrderFilter(statuses=OPEN_ORDER_STATUSES, page_size=ITEM_LIMIT), actor
    )
    items = []
    for o in page["items"]:
        step = dict(order_domain.CUSTOMER_STEPS).get(order_domain.customer_step(o["status"]), "")
        items.append(
            Item(
                title=f"{o['order_no']} · {o['hospital_order_reference']}",
                subtitle=f"{o['product']['name']} · window {_window_text(o['window']['date'], o['window']['start'], o['window']['end'])}",
                note=f"{o['status_label']} — journey step: {step}",
                action_label="Follow",
                action_url=url_for("OrderPagesView.journey", order_id=o["id"]),
            )
        )
    return Section(
        "open_orders",
        "Your open orders",
        "fa-shopping-cart",
        items,
        page["total"],
        "You have no open order.",
        "All your orders",
        url_for("OrderPagesView.index"),
    )


def _shipments(actor: Actor, status: str) -> list[dict[str, Any]]:
    from app.logistics import queries as logistics_queries

    return logistics_queries.list_shipments(actor, status=status)


def _shipment_item(s: dict[str, Any], action: str) -> Item:
    when = s["dispatched_at"] or s["planned_departure_at"]
    return Item(
        title=f"{s['shipment_no']} · {s['customer']['name']}",
        subtitle=s["status_label"] + (f" · {fmt_local(when, '%a %d %b %H:%M')}" if when else ""),
        action_label=action,
        action_url=url_for("ShipmentsView.detail", shipment_id=s["id"]),
    )


def customer_deliveries(actor: Actor, now: dt.datetime) -> Section:
    rows = _shipments(actor, "DISPATCHED")
    items = [_shipment_item(s, "Confirm delivery") for s in rows[:ITEM_LIMIT]]
    return Section(
        "deliveries",
        "Deliveries on their way to you",
        "fa-truck",
        items,
        len(rows),
        "No delivery is on its way.",
    )


def logistics_shipments(actor: Actor, now: dt.datetime) -> Section:
    rows = [*_shipments(actor, "PLANNED"), *_shipments(actor, "PACKED")]
    rows.sort(key=lambda s: s["id"])
    items = [_shipment_item(s, "Pack" if s["status"] == "PLANNED" else "Dispatch") for s in rows[:ITEM_LIMIT]]
    return Section(
        "shipments",
        "Shipments to pack and dispatch",
        "fa-archive",
        items,
        len(rows),
        "No shipment is waiting to be packed or dispatched.",
        "All shipments",
        url_for("ShipmentsView.index"),
    )


def logistics_unconfirmed(actor: Actor, now: dt.datetime) -> Section:
    rows = _shipments(actor, "DISPATCHED")
    items = [_shipment_item(s, "Confirm delivery") for s in rows[:ITEM_LIMIT]]
    return Section(
        "unconfirmed",
        "Deliveries not yet confirmed",
        "fa-question-circle",
        items,
        len(rows),
        "Every dispatched shipment is confirmed as delivered.",
    )


# Role -> its sections, in the order of the day's work. Parts that land later add theirs here.
ROLE_SECTIONS: dict[str, list[Callable[[Actor, dt.datetime], Section]]] = {
    "Planner": [planner_windows, orders_to_validate, orders_to_plan, planner_unscheduled],
    "Production": [production_to_start, production_in_progress, my_open_deviations],
    "QC Analyst": [qc_results_to_enter, qc_after_release],
    "QC Reviewer": [qc_to_review],
    "QC Manager": [qc_templates_in_draft, qc_open_oos, qc_to_review],
    "QP": [qp_release_queue],
    "Dispensing": [dispensing_released],
    "Logistics": [logistics_shipments, logistics_to_ship, logistics_unconfirmed],
    "Customer": [customer_reservations, customer_open_orders, customer_deliveries, customer_batches],
    "Auditor": [audit_overview],
    "Admin": [admin_problems, audit_overview],
}


def sections_for(actor: Actor, now: dt.datetime | None = None) -> list[Section]:
    """The sections of every role the person holds, each once, in the role table's order."""
    now = now or dt.datetime.now(dt.UTC)
    seen: set[Callable[..., Section]] = set()
    out = []
    for role, builders in ROLE_SECTIONS.items():
        if not actor.has_role(role):
            continue
        for build in builders:
            if build not in seen:
                seen.add(build)
                out.append(build(actor, now))
    return out

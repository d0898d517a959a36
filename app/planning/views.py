"""The Planner page (/planner/?date=): minutes per delivery window as a table and a stacked bar chart,
validated orders not yet in a batch, and the "Plan a batch" form with the activity arithmetic."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select

from app.core.actor import current_actor
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.core.web import local_instant, site_tz
from app.masterdata.models import HotCell
from app.masterdata.preferences import activity_filter
from app.orders.models import Order
from app.planning import queries, service


def _day(raw: str | None) -> tuple[dt.date, str | None]:
    today = dt.datetime.now(site_tz()).date()
    if not raw:
        return today, None
    try:
        return dt.date.fromisoformat(raw[:10]), None
    except ValueError:
        return today, "That is not a date; showing today."


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values[:200] if v.isdigit() and len(v) < 10]


def _eos(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        wall = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            "The planned end of synthesis is not a date and time.", {"eos": "time"}
        ) from None
    return local_instant(wall, site_tz(), "planned_eos_at")


class PlannerView(BaseView):
    route_base = "/planner"
    default_view = "index"
    class_permission_name = "Planner"
    method_permission_name = {"index": "read", "plan": "plan"}

    @expose("/")
    @has_access
    def index(self):
        day, problem = _day(request.args.get("date"))
        selected = _ids(request.args.getlist("order_id"))
        preview: dict[str, Any] | None = None
        preview_error = None
        eos_raw = request.args.get("eos") or ""
        if selected:
            try:
                orders = list(db.session.execute(select(Order).where(Order.id.in_(selected))).scalars())
                eos = _eos(eos_raw) or service._default_eos(orders)
                preview = queries.plan_arithmetic(orders, eos)
                eos_raw = eos.astimezone(site_tz()).strftime("%Y-%m-%dT%H:%M")
            except DomainError as err:
                preview_error = err.user_message
        day_data = queries.planner_day(day)
        return self.render_template(
            "planning/planner.html",
            day=day,
            prev_day=(day - dt.timedelta(days=1)).isoformat(),
            next_day=(day + dt.timedelta(days=1)).isoformat(),
            problem=problem,
            data=day_data,
            chart={
                "labels": [f"{w['start']}–{w['end']}" for w in day_data["windows"]],
                "committed": [w["committed_minutes"] for w in day_data["windows"]],
                "held": [w["held_minutes"] for w in day_data["windows"]],
                "free": [w["free_minutes"] for w in day_data["windows"]],
            },
            pool=queries.unplanned_orders(),
            selected=selected,
            preview=preview,
            preview_error=preview_error,
            eos_local=eos_raw,
            hot_cells=list(
                db.session.execute(
                    select(HotCell).where(HotCell.active.is_(True)).order_by(HotCell.code)
                ).scalars()
            ),
            batches=queries.planned_batches(),
            default_overhead=queries.DEFAULT_OVERHEAD,
        )

    @expose("/plan", methods=["POST"])
    @has_access
    def plan(self):
        form = request.form
        selected = _ids(form.getlist("order_id"))
        back = url_for(
            "PlannerView.index", date=form.get("date") or None, order_id=selected, eos=form.get("eos") or None
        )
        try:
            batch_id = form.get("batch_id")
            cell = form.get("hot_cell_id")
            result = service.create_batch_plan(
                selected,
                current_actor(),
                batch_id=int(batch_id) if batch_id and batch_id.isdigit() and len(batch_id) < 10 else None,
                planned_eos_at=_eos(form.get("eos")),
                hot_cell_id=int(cell) if cell and cell.isdigit() and len(cell) < 10 else None,
            )
        except DomainError as err:
            flash(err.user_message, "danger")
            return redirect(back)
        flash(
            f"Batch {result['batch_no']} planned with {len(result['added'])} order(s): "
            f"{activity_filter(result['arithmetic']['total_mbq'])} at end of synthesis.",
            "success",
        )
        return redirect(f"/batches/{result['batch_id']}")


def register(appbuilder) -> None:
    appbuilder.add_view(
        PlannerView,
        "Planner",
        href="/planner/",
        icon="fa-calendar-alt",
        category="Orders",
        category_icon="fa-file-invoice",
    )

"""Order pages: the list (/orders/), New order (/orders/new), the Order Journey (/orders/<id>) and the
Validation Queue (/orders/validation). Adapters only: parse the form, call one service act, render
the same dicts the API answers; a refusal shows its userMessage in place."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select

from app.core.actor import current_actor
from app.core.domain import DomainError, Forbidden, ValidationFailed
from app.core.extensions import db
from app.core.web import local_instant, site_tz
from app.masterdata.domain.units import UNITS
from app.masterdata.models import Customer, Product
from app.masterdata.preferences import current_activity_unit, parse_activity
from app.orders import domain, queries, service

MAX_FORM_LINES = 50
MAX_MBQ = Decimal(f"{domain.MAX_ACTIVITY_MBQ:f}")  # the order's limit, stated in the person's unit


def _line_rows(form) -> list[dict[str, Any]]:
    """Dose lines from the form: activity in the person's unit (MBq or mCi, converted to MBq exactly:
    1 mCi = 37 MBq; a value the 0.1 MBq column cannot hold exactly is refused, not rounded) and a
    local calibration time (the site's zone)."""
    asked = form.get("activity_unit")
    unit = asked if asked in UNITS else current_activity_unit()
    activities, times, refs = (
        form.getlist("mbq"),
        form.getlist("calibration_local"),
        form.getlist("line_reference"),
    )
    if len(activities) > MAX_FORM_LINES:
        raise ValidationFailed(
            f"At most {MAX_FORM_LINES} doses per order on this page.", {"lines": "too many"}
        )
    lines = []
    for index, (mbq, when) in enumerate(zip(activities, times, strict=False)):
        if not mbq.strip() and not when.strip():
            continue
        try:
            wall = dt.datetime.fromisoformat(when.strip())
        except ValueError:
            raise ValidationFailed(
                f"Dose {index + 1}: the calibration time is not a date and time.", {f"lines[{index}]": "time"}
            ) from None
        at = local_instant(wall, site_tz(), f"lines[{index}].calibration_at")
        ref = refs[index].strip() if index < len(refs) else ""
        field = f"lines[{index}].requested_activity_mbq"
        label = f"activity of dose {index + 1}"
        activity = (
            f"{parse_activity(mbq, unit, field, 1, label=label, at_most=MAX_MBQ):f}" if mbq.strip() else ""
        )
        lines.append(
            {"requested_activity_mbq": activity, "calibration_at": at.isoformat(), "line_reference": ref}
        )
    return lines


def _int_arg(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


def _form_context(
    actor, reservation_id: int | None, form=None, error: DomainError | None = None
) -> dict[str, Any]:
    from app.capacity.queries import windows_between

    restricted = queries.viewer_for(actor).restricted
    reservation = queries.reservation_prefill(reservation_id, actor) if reservation_id else None
    products = db.session.execute(
        select(Product).where(Product.active.is_(True)).order_by(Product.code)
    ).scalars()
    product_code = (form.get("product_code") if form else None) or request.args.get("product_code") or "FDG"
    today = dt.datetime.now(site_tz()).date()
    try:
        windows = windows_between(today, today + dt.timedelta(days=14), product_code)
    except DomainError:
        windows = []
    customers = (
        []
        if restricted
        else list(
            db.session.execute(
                select(Customer).where(Customer.active.is_(True)).order_by(Customer.name)
            ).scalars()
        )
    )
    doses = reservation["dose_count"] if reservation else 1
    return {
        "reservation": reservation,
        "reservation_id": reservation_id,
        "products": list(products),
        "product_code": product_code,
        "windows": [w for w in windows if not w["closed"]],
        "customers": customers,
        "restricted": restricted,
        "form": form,
        "error": error,
        "dose_rows": max(len(form.getlist("mbq")), 1) if form else doses,
        "pattern_rule": "3 to 40 letters, digits, '-', '_' or '/'; never a name, birth date, e-mail or phone number",
    }


# The page's acts and the permission each needs (the API maps its endpoints onto the same names).
ACT_PERMISSIONS = {"validate": "can_validate", "reject": "can_reject", "cancel": "can_cancel"}


def _may_create_orders() -> bool:
    """Whether the signed-in user may create orders (the list page's "New order" buttons)."""
    from flask import current_app

    return bool(current_app.appbuilder.sm.has_access("can_create", OrderPagesView.class_permission_name))


class _NewOrderLink:
    """The menu's "New order" entry is granted with `can_create on Order` (hospitals order; planners
    book and validate), not with any permission on Order (see security.sync._menu_grants)."""

    class_permission_name = "Order"
    menu_permission = "can_create"


class OrderPagesView(BaseView):
    route_base = "/orders"
    default_view = "index"
    class_permission_name = "Order"
    method_permission_name = {
        "index": "read",
        "journey": "read",
        "new": "create",
        "create": "create",
        "act": "read",
    }

    @expose("/")
    @has_access
    def index(self):
        actor = current_actor()
        problem = None
        try:
            f = queries.parse_filter(request.args)
        except ValidationFailed as err:
            f, problem = queries.OrderFilter(), err.user_message + " The filters were cleared."
        result = queries.list_orders(f, actor)
        return self.render_template(
            "orders/list.html",
            result=result,
            f=f,
            problem=problem,
            statuses=domain.STATUS_LABELS,
            restricted=queries.viewer_for(actor).restricted,
            may_create=_may_create_orders(),
        )

    @expose("/new", methods=["GET"])
    @has_access
    def new(self):
        actor = current_actor()
        return self.render_template(
            "orders/new.html", **_form_context(actor, _int_arg(request.args.get("reservation_id")))
        )

    @expose("/new", methods=["POST"])
    @has_access
    def create(self):
        actor = current_actor()
        form = request.form
        reservation_id = _int_arg(form.get("reservation_id"))
        try:
            order = service.create_order(
                actor,
                reservation_id=reservation_id,
                hospital_order_reference=form.get("hospital_order_reference", "")[:200],
                lines=_line_rows(form),
                customer_code=form.get("customer_code") or None,
                window_id=_int_arg(form.get("window_id")),
                product_code=form.get("product_code") or None,
                slot_id=_int_arg(form.get("slot_id")),
            )
        except DomainError as err:
            context = _form_context(actor, reservation_id, form, err)
            return self.render_template("orders/new.html", **context), err.status
        flash(f"Order {order.order_no} submitted. Customer service validates it next.", "success")
        return redirect(url_for("OrderPagesView.journey", order_id=order.id))

    @expose("/<int:order_id>")
    @has_access
    def journey(self, order_id: int):
        actor = current_actor()
        detail = queries.order_detail(order_id, actor)
        return self.render_template(
            "orders/journey.html", o=detail, restricted=queries.viewer_for(actor).restricted
        )

    @expose("/<int:order_id>/act", methods=["POST"])
    @has_access
    def act(self, order_id: int):
        """Validate / reject / cancel from a page. The route is open to readers of orders; each act
        then needs its own permission (`can_validate`, `can_reject`, `can_cancel` on Order), the
        same the API's endpoints need, and the service checks the role against the table."""
        actor = current_actor()
        trigger = request.form.get("trigger", "")
        back = request.form.get("next") or ""
        target = back if back in ("/orders/validation/", f"/orders/{order_id}") else f"/orders/{order_id}"
        try:
            queries.get_visible(order_id, actor)
            if trigger in ACT_PERMISSIONS and not self.appbuilder.sm.has_access(
                ACT_PERMISSIONS[trigger], self.class_permission_name
            ):
                raise Forbidden(f"You may not {trigger} orders.")
            reason = (request.form.get("reason") or "")[:2001]
            if trigger == "validate":
                order = service.validate_order(order_id, actor)
            elif trigger == "reject":
                order = service.reject_order(order_id, reason, actor)
            elif trigger == "cancel":
                order = service.cancel_order(order_id, reason, actor)
            else:
                raise ValidationFailed("Unknown action.", {"trigger": "unknown"})
        except DomainError as err:
            flash(err.user_message, "danger")
            return redirect(target)
        flash(f"Order {order.order_no}: {domain.status_label(order.status).lower()}.", "success")
        return redirect(target)


class ValidationQueueView(BaseView):
    """The Validation Queue: its own resource, so the menu shows it only to Planner and Admin."""

    route_base = "/orders/validation"
    default_view = "index"
    class_permission_name = "ValidationQueue"
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self):
        return self.render_template("orders/validation.html", items=queries.validation_queue(current_actor()))


def register(appbuilder) -> None:
    appbuilder.add_view(
        OrderPagesView,
        "All orders",
        href="/orders/",
        icon="fa-file-invoice",
        category="Orders",
        category_icon="fa-file-invoice",
    )
    appbuilder.add_link(
        "New order",
        href="/orders/new",
        icon="fa-plus",
        category="Orders",
        baseview=_NewOrderLink(),
        cond=_may_create_orders,
    )
    appbuilder.add_view(
        ValidationQueueView,
        "Validation queue",
        href="/orders/validation/",
        icon="fa-tasks",
        category="Orders",
    )

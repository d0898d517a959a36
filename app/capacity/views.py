"""Capacity pages.

Capacity admin (menu "Master data"; `can_read` / `can_write` / `can_generate` on CapacityAdmin):
FAB CRUD for calendars (with their weekly pattern and closed days), windows, slots and time
standards, written through `app.capacity.admin` (reason required, audited, window totals never
below what is booked, time-standard overlaps refused by the database), and "Generate windows".

Book capacity (menu "Orders"; `can_book` on CapacityBooking): a month / week grid of windows with
remaining minutes, the minutes calculation before booking, a hold with a live countdown, cancel.
"""

from __future__ import annotations

import calendar as pycal
import datetime as dt
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.filters import (
    FilterEqual,
    FilterGreater,
    FilterNotEqual,
    FilterSmaller,
    SQLAFilterConverter,
)
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select
from sqlalchemy import types as sa_types
from wtforms import TimeField
from wtforms.validators import DataRequired

from app.capacity import admin, queries, service
from app.capacity import domain as capacity_rules
from app.capacity.models import (
    CalendarClosure,
    CalendarPattern,
    DeliverySlot,
    DeliveryWindow,
    ResourceCalendar,
    TimeStandard,
)
from app.core.actor import current_actor
from app.core.domain import DomainError
from app.core.extensions import db
from app.core.web import site_today
from app.masterdata import view_support as s
from app.masterdata.models import Customer, Product

ADMIN_CATEGORY = "Master data"
BOOK_CATEGORY = "Orders"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _time_field(label: str) -> TimeField:
    return TimeField(
        label,
        format="%H:%M",
        validators=[DataRequired(message="Give a time as HH:MM (24 h).")],
        widget=BS3TextFieldWidget(),
        render_kw={"type": "time"},
        description="Local wall-clock time, HH:MM (24 h).",
    )


def _times(*names: str) -> dict[str, Any]:
    labels = {
        "start_time": "Start (local)",
        "end_time": "End (local)",
        "cutoff_local_time": "Cut-off time (local)",
    }
    fields = {n: _time_field(labels[n]) for n in names}
    return {**fields, s.REASON_FIELD: s.reason_field()}


class _TimeFilters(SQLAFilterConverter):
    """FAB has no filters for time-of-day columns and warns about each one at start-up; a local
    time is searched like a number: equal, before, after."""

    conversion_table = (
        ("is_time", [FilterEqual, FilterGreater, FilterSmaller, FilterNotEqual]),
        *SQLAFilterConverter.conversion_table,
    )


class CapacityInterface(SQLAInterface):
    filter_converter_class = _TimeFilters

    def is_time(self, col_name: str) -> bool:
        column = self.list_columns.get(col_name)
        return column is not None and isinstance(getattr(column, "type", None), sa_types.Time)


class CapacityAdminView(s.ServiceCrudMixin, ModelView):
    crud_service = admin
    class_permission_name = "CapacityAdmin"
    method_permission_name = s.READ_WRITE
    edit_template = "masterdata/edit.html"
    show_template = "masterdata/show.html"
    page_size = 25
    exclude_route_methods = {"action", "action_post", "download"}
    reason_required = True
    edit_notice = "Capacity settings decide what hospitals can book."
    add_form_extra_fields = {s.REASON_FIELD: s.reason_field()}
    edit_form_extra_fields = {s.REASON_FIELD: s.reason_field()}


def _weekday(value: Any) -> str:
    return WEEKDAYS[value] if isinstance(value, int) and 0 <= value < 7 else "—"


def _clock(value: dt.time | None) -> str:
    return "—" if value is None else value.strftime("%H:%M")


class CalendarPatternView(CapacityAdminView):
    route_base = "/capacity-patterns"
    add_form_extra_fields = edit_form_extra_fields = _times("start_time", "end_time")
    search_columns = ["calendar", "weekday", "total_minutes"]
    datamodel = CapacityInterface(CalendarPattern)
    list_title = "Weekly pattern"
    label_columns = {
        "calendar": "Calendar",
        "weekday": "Weekday (0 = Monday)",
        "start_time": "Start (local)",
        "end_time": "End (local)",
        "total_minutes": "Capacity (min)",
        "slot_length_min": "Slot length (min)",
        "minutes_per_slot": "Minutes per slot",
    }
    list_columns = ["calendar", "weekday", "start_time", "end_time", "total_minutes", "slot_length_min"]
    add_columns = [*list_columns, "minutes_per_slot", s.REASON_FIELD]
    edit_columns = add_columns
    show_columns = list_columns
    formatters_columns = {"weekday": _weekday, "start_time": _clock, "end_time": _clock}
    base_order = ("weekday", "asc")


class CalendarClosureView(CapacityAdminView):
    route_base = "/capacity-closures"
    search_columns = ["calendar", "local_date", "reason"]
    datamodel = CapacityInterface(CalendarClosure)
    list_title = "Closed days"
    label_columns = {"calendar": "Calendar", "local_date": "Date (local)", "reason": "Why closed"}
    list_columns = ["calendar", "local_date", "reason"]
    add_columns = [*list_columns, s.REASON_FIELD]
    edit_columns = add_columns
    show_columns = list_columns
    base_order = ("local_date", "desc")


class ResourceCalendarView(CapacityAdminView):
    route_base = "/capacity-calendars"
    add_form_extra_fields = edit_form_extra_fields = _times("cutoff_local_time")
    search_columns = ["code", "name", "resource_type", "timezone", "is_active"]
    datamodel = CapacityInterface(ResourceCalendar)
    list_title, show_title, add_title, edit_title = "Calendars", "Calendar", "Add calendar", "Edit calendar"
    related_views = [CalendarPatternView, CalendarClosureView]
    label_columns = {
        "code": "Code",
        "name": "Name",
        "resource_type": "Resource",
        "timezone": "Time zone",
        "cutoff_days_before": "Cut-off (days before)",
        "cutoff_local_time": "Cut-off time (local)",
        "is_active": "Active",
    }
    list_columns = list(label_columns)
    add_columns = [*list_columns, s.REASON_FIELD]
    edit_columns = add_columns
    show_columns = list_columns
    formatters_columns = {"is_active": s.fmt_active, "resource_type": s.human, "cutoff_local_time": _clock}
    description_columns = {
        "cutoff_days_before": "Orders close this many days before the window's date ...",
        "cutoff_local_time": "... at this local time (e.g. 1 day before at 14:00).",
    }


class DeliveryWindowView(CapacityAdminView):
    route_base = "/capacity-windows"
    add_form_extra_fields = edit_form_extra_fields = _times("start_time", "end_time")
    datamodel = CapacityInterface(DeliveryWindow)
    list_title, show_title, add_title, edit_title = "Delivery windows", "Window", "Add window", "Edit window"
    exclude_route_methods = {*CapacityAdminView.exclude_route_methods}
    label_columns = {
        "calendar": "Calendar",
        "local_date": "Date (local)",
        "start_time": "Start (local)",
        "end_time": "End (local)",
        "total_minutes": "Capacity (min)",
        "is_closed": "Closed",
    }
    list_columns = list(label_columns)
    add_columns = [*list_columns, s.REASON_FIELD]
    edit_columns = add_columns
    show_columns = list_columns
    formatters_columns = {"start_time": _clock, "end_time": _clock, "is_closed": s.fmt_yes_no}
    base_order = ("local_date", "desc")
    search_columns = ["calendar", "local_date", "is_closed"]
    description_columns = {"total_minutes": "May not be set below the minutes already booked."}


class DeliverySlotView(CapacityAdminView):
    route_base = "/capacity-slots"
    add_form_extra_fields = edit_form_extra_fields = _times("start_time", "end_time")
    search_columns = ["window", "total_minutes"]
    datamodel = CapacityInterface(DeliverySlot)
    list_title, show_title, add_title, edit_title = "Delivery slots", "Slot", "Add slot", "Edit slot"
    label_columns = {
        "window": "Window",
        "start_time": "Start (local)",
        "end_time": "End (local)",
        "total_minutes": "Capacity (min)",
    }
    list_columns = list(label_columns)
    add_columns = [*list_columns, s.REASON_FIELD]
    edit_columns = add_columns
    show_columns = list_columns
    formatters_columns = {"start_time": _clock, "end_time": _clock}


class TimeStandardView(CapacityAdminView):
    route_base = "/time-standards"
    search_columns = ["product", "dose_form", "effective_from", "effective_to", "is_active"]
    datamodel = CapacityInterface(TimeStandard)
    list_title, show_title, add_title, edit_title = (
        "Time standards",
        "Time standard",
        "Add time standard",
        "Edit time standard",
    )
    label_columns = {
        "product": "Product",
        "dose_form": "Dose form",
        "minutes_required": "Minutes per dose",
        "effective_from": "Effective from",
        "effective_to": "Effective to (inclusive)",
        "is_active": "Active",
    }
    list_columns = list(label_columns)
    add_columns = [*list_columns, s.REASON_FIELD]
    edit_columns = add_columns
    show_columns = list_columns
    formatters_columns = {
        "is_active": s.fmt_active,
        "dose_form": lambda v: "Unit dose" if v == "UNIT_DOSE" else (v or "—"),
        "effective_to": lambda v: "open-ended" if v is None else v.isoformat(),
    }
    description_columns = {
        "dose_form": "UNIT_DOSE for hospital bookings.",
        "effective_to": "Empty = open-ended. Two active standards of one product may not overlap.",
    }


class GenerateWindowsView(BaseView):
    route_base = "/capacity/generate"
    default_view = "index"
    class_permission_name = "CapacityAdmin"
    method_permission_name = {"index": "generate"}

    @expose("/", methods=["GET", "POST"])
    @has_access
    def index(self):
        calendars = (
            db.session.execute(select(ResourceCalendar).order_by(ResourceCalendar.name)).scalars().all()
        )
        result, error = None, None
        form = {"calendar_id": "", "start_date": site_today().isoformat(), "days": "14"}
        if request.method == "POST":
            form = {k: request.form.get(k, "") for k in form}
            try:
                start = dt.date.fromisoformat(form["start_date"])
                days = int(form["days"])
                cal_id = int(form["calendar_id"])
            except ValueError:
                error = "Choose a calendar, a start date and a number of days (1 to 366)."
            else:
                try:
                    result = service.generate_windows(cal_id, start, days, actor=current_actor())
                except DomainError as err:
                    error = err.user_message
        return self.render_template(
            "capacity/generate.html", calendars=calendars, result=result, error=error, form=form
        )


# --------------------------------------------------------------------------- booking


def _parse_month(raw: str | None, today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{raw}-01") if raw else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def fill_class(remaining: int, total: int, closed: bool) -> str:
    if closed:
        return "rp-cap-closed"
    if total <= 0 or remaining <= 0:
        return "rp-cap-full"
    used = 1 - remaining / total
    return "rp-cap-low" if used < 0.5 else "rp-cap-mid" if used < 0.85 else "rp-cap-high"


def _closed_days(first: dt.date, last: dt.date) -> set[str]:
    """Dates the dispensing calendars are closed: a closure, or a weekday without pattern windows."""
    calendars = (
        db.session.execute(
            select(ResourceCalendar).where(
                ResourceCalendar.is_active.is_(True),
                ResourceCalendar.resource_type == "DISPENSING_BOTTLENECK",
            )
        )
        .scalars()
        .all()
    )
    if not calendars:
        return set()
    open_weekdays = {p.weekday for c in calendars for p in c.patterns}
    closures = set(
        db.session.execute(
            select(CalendarClosure.local_date).where(CalendarClosure.local_date.between(first, last))
        ).scalars()
    )
    out = set()
    day = first
    while day <= last:
        if day in closures or (open_weekdays and day.weekday() not in open_weekdays):
            out.add(day.isoformat())
        day += dt.timedelta(days=1)
    return out


def _cutoff_rule() -> tuple[int, dt.time] | None:
    """The dispensing calendar's order cut-off (days before, local time), for greying windows out."""
    cal = db.session.execute(
        select(ResourceCalendar)
        .where(
            ResourceCalendar.is_active.is_(True), ResourceCalendar.resource_type == "DISPENSING_BOTTLENECK"
        )
        .order_by(ResourceCalendar.id)
    ).scalar()
    return (cal.cutoff_days_before, cal.cutoff_local_time) if cal else None


def _booking_closed(w: dict[str, Any], cutoff: tuple[int, dt.time] | None, now: dt.datetime) -> str | None:
    """Why a window can no longer be booked ("past", "orders closed"), or None while it can.
    The service refuses such a booking anyway (WINDOW_CLOSED); the page just does not offer it."""
    if w["start_at"] <= now:
        return "past"
    if cutoff is not None:
        day = dt.date.fromisoformat(w["date"])
        if now >= capacity_rules.booking_cutoff_at(day, w["timezone"], cutoff[0], cutoff[1]):
            return "orders closed"
    return None


class BookCapacityView(BaseView):
    route_base = "/capacity"
    default_view = "book"
    class_permission_name = "CapacityBooking"
    method_permission_name = {"book": "book", "hold": "book", "reservation": "book", "cancel": "book"}

    def _context(self, args: Any) -> dict[str, Any]:
        actor = current_actor()
        restricted, own = queries.customer_of(actor)
        products = (
            db.session.execute(select(Product).where(Product.active.is_(True)).order_by(Product.code))
            .scalars()
            .all()
        )
        if restricted:
            customer = db.session.get(Customer, own) if own else None
            customers = [customer] if customer else []
            permitted = {p.id for p in customer.permitted_products} if customer else set()
            products = [p for p in products if p.id in permitted]
        else:
            customers = (
                db.session.execute(select(Customer).where(Customer.active.is_(True)).order_by(Customer.name))
                .scalars()
                .all()
            )
        product_code = args.get("product") or (products[0].code if products else None)
        today = site_today()
        view = "week" if args.get("view") == "week" else "month"
        if view == "week":
            try:
                start = dt.date.fromisoformat(args.get("week") or "")
            except ValueError:
                start = today
            start -= dt.timedelta(days=start.weekday())
            days = [start + dt.timedelta(days=i) for i in range(7)]
            prev_q = {"view": "week", "week": (start - dt.timedelta(days=7)).isoformat()}
            next_q = {"view": "week", "week": (start + dt.timedelta(days=7)).isoformat()}
            title = f"Week of {start:%d %b %Y}"
        else:
            first = _parse_month(args.get("month"), today)
            weeks = pycal.Calendar().monthdatescalendar(first.year, first.month)
            days = [d for w in weeks for d in w]
            prev_m = (first - dt.timedelta(days=1)).replace(day=1)
            next_m = (first + dt.timedelta(days=32)).replace(day=1)
            prev_q = {"view": "month", "month": prev_m.strftime("%Y-%m")}
            next_q = {"view": "month", "month": next_m.strftime("%Y-%m")}
            title = first.strftime("%B %Y")
        windows = []
        try:
            windows = queries.windows_between(days[0], days[-1], product_code)
        except DomainError:
            windows = queries.windows_between(days[0], days[-1], None)
        closed_days = _closed_days(days[0], days[-1])
        cutoffs = _cutoff_rule()
        now = dt.datetime.now(dt.UTC)
        by_day: dict[str, list[dict[str, Any]]] = {}
        for w in windows:
            w["fill"] = fill_class(w["remaining_minutes"], w["total_minutes"], w["closed"])
            w["booking_closed"] = _booking_closed(w, cutoffs, now)
            if w["booking_closed"]:
                w["fill"] = "rp-cap-past"
            by_day.setdefault(w["date"], []).append(w)
        return {
            "view": view,
            "title": title,
            "days": days,
            "month": days[len(days) // 2].month,
            "by_day": by_day,
            "closed_days": closed_days,
            "today": today,
            "products": products,
            "product_code": product_code,
            "customers": customers,
            "restricted": restricted,
            "customer_code": args.get("customer") or (customers[0].code if customers and restricted else ""),
            "prev_q": prev_q,
            "next_q": next_q,
            "dose_count": args.get("doses", "1"),
            "timezone": windows[0]["timezone"] if windows else None,
        }

    @expose("/book", methods=["GET"])
    @has_access
    def book(self):
        return self.render_template("capacity/book.html", refusal=None, **self._context(request.args))

    @expose("/book", methods=["POST"])
    @has_access
    def hold(self):
        form = request.form
        actor = current_actor()
        restricted, own = queries.customer_of(actor)
        try:
            window_id = int(form.get("window_id", ""))
            slot_raw = form.get("slot_id") or ""
            slot_id = int(slot_raw) if slot_raw else None
            doses = int(form.get("dose_count", ""))
        except ValueError:
            flash("Choose a window and a whole number of doses.", "danger")
            return redirect(url_for("BookCapacityView.book"))
        product = db.session.execute(select(Product).where(Product.code == form.get("product", ""))).scalar()
        customer_id = own
        if not restricted:
            customer = db.session.execute(
                select(Customer).where(Customer.code == form.get("customer", ""))
            ).scalar()
            customer_id = customer.id if customer else None
        try:
            if product is None:
                raise DomainError("NOT_FOUND", "Choose a product.", 404)
            reservation = service.hold_reservation(
                customer_id, product.id, window_id, doses, slot_id=slot_id, actor=actor
            )
        except DomainError as err:
            args = {
                "product": form.get("product"),
                "doses": form.get("dose_count"),
                "customer": form.get("customer"),
            }
            chosen = db.session.get(DeliveryWindow, window_id) if 0 < window_id < 2**31 else None
            if chosen is not None:  # stay on the month of the window that was refused
                args |= {"view": "month", "month": chosen.local_date.strftime("%Y-%m")}
            context = self._context(args)
            return self.render_template("capacity/book.html", refusal=err, **context), err.status
        return redirect(url_for("BookCapacityView.reservation", pk=reservation.id))

    @expose("/reservations/<int:pk>", methods=["GET"])
    @has_access
    def reservation(self, pk: int):
        try:
            r = queries.reservation_for(current_actor(), pk)
        except DomainError:
            abort(404)
        return self.render_template(
            "capacity/reservation.html", r=queries.reservation_json(r), server_now=dt.datetime.now(dt.UTC)
        )

    @expose("/reservations/<int:pk>/cancel", methods=["POST"])
    @has_access
    def cancel(self, pk: int):
        reason = request.form.get("reason") or "Cancelled by the booker"
        try:
            service.cancel_reservation(pk, reason, current_actor())
        except DomainError as err:
            if err.status == 404:
                abort(404)
            flash(err.user_message, "danger")
        else:
            flash("Reservation cancelled: its minutes are free again.", "success")
        return redirect(url_for("BookCapacityView.reservation", pk=pk))


ADMIN_VIEWS = (
    (ResourceCalendarView, "Capacity calendars", "fa-calendar-alt"),
    (DeliveryWindowView, "Delivery windows", "fa-clock"),
    (DeliverySlotView, "Delivery slots", "fa-stream"),
    (TimeStandardView, "Time standards", "fa-stopwatch"),
)


def register(appbuilder) -> None:
    for view, label, icon in ADMIN_VIEWS:
        appbuilder.add_view(view, label, icon=icon, category=ADMIN_CATEGORY, category_icon="fa-database")
    appbuilder.add_view_no_menu(CalendarPatternView)
    appbuilder.add_view_no_menu(CalendarClosureView)
    appbuilder.add_view(
        GenerateWindowsView,
        "Generate windows",
        icon="fa-magic",
        category=ADMIN_CATEGORY,
        category_icon="fa-database",
    )
    appbuilder.add_view(
        BookCapacityView,
        "Book capacity",
        href="/capacity/book",
        icon="fa-calendar-check",
        category=BOOK_CATEGORY,
        category_icon="fa-shopping-cart",
    )

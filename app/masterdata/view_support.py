"""Shared parts of the master data pages: the service-backed CRUD flow, form fields, formatters.

FAB's ModelView writes through its data interface and commits itself; `ServiceCrudMixin` routes
add, edit and delete through `app.masterdata.service` instead, so the audit row and the change
commit together, and a refused change (duplicate code, missing reason) comes back as messages next
to the form fields with the user's input kept.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import available_timezones

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder.fieldwidgets import (
    BS3PasswordFieldWidget,
    BS3TextAreaFieldWidget,
    BS3TextFieldWidget,
    Select2Widget,
)
from flask_appbuilder.urltools import get_filter_args, get_order_args, get_page_args, get_page_size_args
from markupsafe import Markup, escape
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.core.domain import DomainError
from app.core.web import site_today
from app.masterdata import domain as rules
from app.masterdata import service
from app.masterdata.domain import decay

REASON_FIELD = "reason_for_change"
SIGNATURE_FIELD = "signature_password"

READ_WRITE = {
    "list": "read",
    "show": "read",
    "download": "read",
    "add": "write",
    "edit": "write",
    "delete": "write",
    "action": "write",
    "action_post": "write",
}


# ---------------------------------------------------------------- form fields


def reason_field() -> TextAreaField:
    return TextAreaField(
        "Reason for change",
        validators=[
            DataRequired(message="Give a reason for the change: it is kept in the audit trail."),
            Length(max=1000),
        ],
        description="Required for GMP-relevant records. Saved in the audit trail with the before/after values.",
        widget=BS3TextAreaFieldWidget(),
    )


def signature_field() -> PasswordField:
    """Re-entered password that e-signs an edit of a GMP-critical field (checked by the service)."""
    return PasswordField(
        "Password (e-signature)",
        validators=[Optional()],
        description=(
            "Needed only when you change a critical field (code, nuclide, shelf life, dose form, "
            "QC second review): your password signs the change, linked to its audit entry."
        ),
        widget=BS3PasswordFieldWidget(),
        render_kw={"autocomplete": "current-password"},
    )


def arabic_field(label: str, required: bool = False) -> StringField:
    return StringField(
        label,
        validators=[DataRequired() if required else Optional(), Length(max=200)],
        widget=BS3TextFieldWidget(),
        render_kw={"dir": "rtl", "lang": "ar"},
        description="Shown right-to-left on pages, labels and PDFs.",
    )


def choice_field(label: str, choices: tuple[str, ...], description: str = "") -> SelectField:
    return SelectField(
        label,
        choices=[(c, human(c)) for c in choices],
        validators=[DataRequired()],
        widget=Select2Widget(),
        description=description,
    )


def timezone_field(label: str = "Time zone") -> SelectField:
    zones = sorted(available_timezones())
    return SelectField(
        label,
        choices=[(z, z) for z in zones],
        default="Asia/Riyadh",
        validators=[DataRequired()],
        widget=Select2Widget(),
        description="Times for this record are shown in this zone.",
    )


# ---------------------------------------------------------------- formatters


def human(code: str | None) -> str:
    return "" if not code else code.replace("_", " ").capitalize()


def fmt_half_life(seconds: Any) -> Markup:
    """'109.77 min' with '6586.2 s' below; hours and days also in minutes."""
    if seconds is None:
        return Markup('<span class="text-muted">—</span>')
    value, unit = decay.half_life_parts(seconds)
    secs = f"{fmt_number(seconds)} s"
    if unit == "s":
        return Markup('<span class="rp-nowrap">{}</span>').format(secs)
    detail = secs if unit == "min" else f"{fmt_number(round(float(seconds) / 60, 2))} min · {secs}"
    return Markup(
        '<span class="rp-nowrap">{} {}</span><br><small class="text-muted rp-nowrap">{}</small>'
    ).format(fmt_number(round(value, 4)), unit, detail)


def fmt_minutes(minutes: int | None) -> str:
    if minutes is None:
        return "—"
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes} min ({minutes // 60} h)"
    if minutes >= 60:
        return f"{minutes} min ({minutes / 60:.1f} h)"
    return f"{minutes} min"


def fmt_number(value: Any) -> str:
    """Decimals without trailing zeros: 15.00 -> 15, 12.50 -> 12.5."""
    if value is None:
        return "—"
    text = f"{value:f}" if hasattr(value, "as_tuple") else str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_nowrap(text: str | None) -> Markup:
    return Markup('<span class="rp-nowrap">{}</span>').format(text or "—")


# A run of Latin letters/digits with its brackets, e.g. "[18F]" or "PSMA-11 [68Ga]".
_LATIN_RUN = re.compile(
    r"[\[(]?[0-9A-Za-z][0-9A-Za-z.\-]*[\])]?(?:\s+[\[(]?[0-9A-Za-z][0-9A-Za-z.\-]*[\])]?)*"
)


def fmt_arabic(text: str | None) -> Markup:
    """Right-to-left, with Latin runs isolated so "[18F]" keeps its brackets the right way round."""
    if not text:
        return Markup('<span class="text-muted">—</span>')
    parts, last = [], 0
    for match in _LATIN_RUN.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<bdi dir="ltr">{}</bdi>').format(match.group(0)))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup('<span dir="rtl" lang="ar" class="rp-ar">{}</span>').format(Markup("").join(parts))


def fmt_auto(text: str | None) -> Markup:
    return Markup('<span dir="auto">{}</span>').format(text or "")


def fmt_yes_no(value: bool | None) -> Markup:
    return Markup('<span class="rp-yes">Yes</span>' if value else '<span class="text-muted">No</span>')


def fmt_active(value: bool | None) -> Markup:
    if value:
        return Markup('<span class="label label-success">Active</span>')
    return Markup('<span class="label label-default">Retired</span>')


def fmt_credit_hold(value: bool | None) -> Markup:
    if value:
        return Markup('<span class="label label-danger" title="Orders are blocked">On credit hold</span>')
    return Markup('<span class="text-muted">—</span>')


def fmt_choice(value: str | None) -> str:
    return human(value)


def fmt_date(value: dt.date | None) -> str:
    return "—" if value is None else value.strftime("%d %b %Y")


def fmt_licence_expiry(value: dt.date | None, today: dt.date | None = None) -> Markup:
    """Expired licences in red, those within 30 days in amber, with the days left spelled out."""
    status, days = rules.licence_status(value, today or site_today())
    if status == "unknown":
        return Markup('<span class="text-muted">—</span>')
    shown = escape(fmt_date(value))
    if status == "expired":
        return Markup(
            '<span class="rp-expiry rp-expiry-expired" title="Licence expired">{} '
            '<span class="label label-danger">Expired</span></span>'
        ).format(shown)
    if status == "expiring":
        left = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return Markup(
            '<span class="rp-expiry rp-expiry-soon" title="Licence expires within 30 days">{} '
            '<span class="label label-warning">Expires {}</span></span>'
        ).format(shown, left)
    return Markup('<span class="rp-expiry">{}</span>').format(shown)


def fmt_lot_expiry(value: dt.date | None) -> Markup:
    if value is None:
        return Markup('<span class="text-muted">—</span>')
    if value < site_today():
        return Markup('{} <span class="label label-danger">Expired</span>').format(fmt_date(value))
    return Markup("{}").format(fmt_date(value))


LOT_STATUS_CLASS = {
    "QUARANTINE": "warning",
    "RELEASED": "success",
    "REJECTED": "danger",
    "EXPIRED": "default",
}


def fmt_lot_status(value: str | None) -> Markup:
    css = LOT_STATUS_CLASS.get(value or "", "default")
    return Markup('<span class="label label-{}">{}</span>').format(css, human(value))


def fmt_products(products: Any) -> Markup:
    codes = [p.code for p in products or []]
    if not codes:
        return Markup('<span class="text-muted">none</span>')
    return Markup(" ").join(Markup('<span class="label label-info">{}</span>').format(c) for c in codes)


# ---------------------------------------------------------------- CRUD through the service


class ServiceCrudMixin:
    """Add/edit/delete through `app.masterdata.service` (audit + one commit); errors onto the form."""

    reason_required = False
    edit_notice = ""  # shown above the edit form (why a reason is asked for)
    # The module that writes: create / update / delete / Change / snapshot / label / entity_name.
    # Another part's configuration pages (capacity admin) plug in their own service with the same shape.
    crud_service: Any = service

    def _init_forms(self):
        super()._init_forms()
        # FAB marks non-null booleans InputRequired, so an unticked box (Active off) never validates;
        # and it ignores the column default, so a new product would start inactive.
        columns = self.datamodel.obj.__table__.c
        for form in (self.add_form, self.edit_form):
            for name in dir(form):
                unbound = getattr(form, name)
                if isinstance(unbound, UnboundField) and issubclass(unbound.field_class, BooleanField):
                    validators = unbound.kwargs.get("validators") or []
                    unbound.kwargs["validators"] = [
                        v for v in validators if not isinstance(v, InputRequired | DataRequired)
                    ]
                    default = getattr(columns[name].server_default, "arg", None) if name in columns else None
                    if form is self.add_form and str(getattr(default, "text", default)) == "true":
                        unbound.kwargs["default"] = True

    def render_template(self, template, **kwargs):
        kwargs.setdefault("edit_notice", self.edit_notice if self.reason_required else "")
        if template == self.show_template and "pk" in kwargs:
            kwargs.setdefault("record_links", self._record_links(kwargs["pk"]))
        return super().render_template(template, **kwargs)

    def _record_links(self, pk: Any) -> list[dict[str, str]]:
        """Edit (with can_write) and the record's audit history (with can_read on AuditLog)."""
        sm = self.appbuilder.sm
        links = []
        if sm.has_access("can_write", self.class_permission_name):
            links.append(
                {"url": url_for(f"{type(self).__name__}.edit", pk=pk), "icon": "fa-edit", "label": "Edit"}
            )
        if sm.has_access("can_read", "AuditLog") and "AuditView.index" in current_app.view_functions:
            url = url_for("AuditView.index", entity_type=self.datamodel.obj.__name__, entity_id=pk)
            links.append({"url": url, "icon": "fa-history", "label": "Change history"})
        return links

    def _show_refusal(self, form: Any, err: DomainError) -> None:
        fields = (err.details or {}).get("fields") or {}
        placed = False
        for name, messages in fields.items():
            target = {"reason": REASON_FIELD, "password": SIGNATURE_FIELD}.get(name, name)
            if form is not None and target in form:
                form[target].errors = [*form[target].errors, *messages]
                placed = True
        flash(err.user_message if placed or not fields else _flat(err.user_message, fields), "danger")

    def _populate(self, form: Any, item: Any) -> None:
        for name, field in form._fields.items():
            if name not in (REASON_FIELD, SIGNATURE_FIELD):
                field.populate_obj(item, name)

    def _add(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            if form.validate():
                self.process_form(form, True)
                item = self.datamodel.obj()
                self._populate(form, item)
                try:
                    reason = form[REASON_FIELD].data if REASON_FIELD in form else None
                    self.crud_service.create(item, reason=reason)
                except DomainError as err:
                    self._show_refusal(form, err)
                else:
                    flash(
                        f"{self.crud_service.label(self.crud_service.entity_name(item)).capitalize()} added.",
                        "success",
                    )
                    g.rp_saved_pk = self.datamodel.get_pk_value(item)
                    return None
            return self._get_add_widget(form=form, exclude_cols=exclude_cols)
        self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        pages, page_sizes, orders = get_page_args(), get_page_size_args(), get_order_args()
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        valid = True
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = pk
            valid = False
            if form.validate():
                # The "before" image is taken before the form touches the record.
                change = self.crud_service.Change(
                    before=self.crud_service.snapshot(item),
                    reason=form[REASON_FIELD].data if REASON_FIELD in form else None,
                    password=form[SIGNATURE_FIELD].data if SIGNATURE_FIELD in form else None,
                )
                self.process_form(form, False)
                self._populate(form, item)
                try:
                    self.crud_service.update(item, change)
                except DomainError as err:
                    self._show_refusal(form, err)
                    item = self.datamodel.get(pk, self._base_filters)
                else:
                    flash(
                        f"{self.crud_service.label(self.crud_service.entity_name(item)).capitalize()} saved.",
                        "success",
                    )
                    g.rp_saved_pk = pk
                    return None
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        widgets = self._get_related_views_widgets(
            item, filters={}, orders=orders, pages=pages, page_sizes=page_sizes, widgets=widgets
        )
        if valid:
            self.update_redirect()
        return widgets

    # After a save the user sees the record they saved (FAB's default goes back through its page
    # history, which lands on the home page when the form was opened directly).
    def _saved_redirect(self):
        pk = g.pop("rp_saved_pk", None)
        return None if pk is None else redirect(url_for(f"{self.endpoint}.show", pk=pk))

    def post_add_redirect(self):
        return self._saved_redirect() or super().post_add_redirect()  # type: ignore[misc]

    def post_edit_redirect(self):
        return self._saved_redirect() or super().post_edit_redirect()  # type: ignore[misc]

    def _delete(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        try:
            self.crud_service.delete(item)
        except DomainError as err:
            flash(err.user_message, "danger")
        else:
            flash(
                f"{self.crud_service.label(self.crud_service.entity_name(item)).capitalize()} deleted.",
                "success",
            )
        self.update_redirect()


def _flat(message: str, fields: dict[str, list[str]]) -> str:
    details = "; ".join(f"{human(k)}: {' '.join(v)}" for k, v in fields.items())
    return f"{message} {details}"

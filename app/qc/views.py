"""QC pages: the test catalog (/admin/qc/test-definitions), the template builder and the batch QC table.

The catalog is a FAB ModelView whose add and edit go through `app.qc.catalog` (validation,
audit row and one commit); tests are never deleted (a template or a batch refers to them), they are
made inactive. The builder and batch pages are in `qc_template_views` and `qc_batch_views`.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request
from flask_appbuilder import ModelView
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args
from markupsafe import Markup
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.actor import current_actor
from app.core.domain import DomainError
from app.qc import catalog as qc_catalog
from app.qc.domain.rules import RESULT_TYPES
from app.qc.models import QcTestDefinition

CATEGORY = "QC"
RESULT_TYPE_LABELS = {
    "PASS_FAIL": "Pass / Fail",
    "NUMERIC": "Numeric",
    "TEXT": "Text",
    "OPTION_LIST": "Option list",
}


def _arabic(label: str) -> StringField:
    return StringField(
        label,
        validators=[Optional(), Length(max=200)],
        widget=BS3TextFieldWidget(),
        render_kw={"dir": "rtl", "lang": "ar"},
    )


def fmt_active(value: bool | None) -> Markup:
    if value:
        return Markup('<span class="label label-success">Active</span>')
    return Markup('<span class="label label-default">Inactive</span>')


def fmt_type(value: str | None) -> str:
    return RESULT_TYPE_LABELS.get(value or "", value or "")


def fmt_ar(value: str | None) -> Markup:
    if not value:
        return Markup('<span class="text-muted">—</span>')
    return Markup('<span dir="rtl" lang="ar" class="rp-ar">{}</span>').format(value)


class QcTestDefinitionModelView(ModelView):
    route_base = "/admin/qc/test-definitions"
    datamodel = SQLAInterface(QcTestDefinition)
    class_permission_name = "QcTestDefinition"
    method_permission_name = {
        "list": "read",
        "show": "read",
        "add": "write",
        "edit": "write",
    }
    # Tests are made inactive, never deleted; no bulk actions or file columns.
    exclude_route_methods = {"delete", "action", "action_post", "download"}
    list_title = "Catalog"
    show_title = "QC test definition"
    add_title = "Add QC test"
    edit_title = "Edit QC test"
    list_template = "qc/test_definitions_list.html"
    page_size = 50
    list_columns = [
        "code",
        "name_en",
        "name_ar",
        "method_en",
        "result_type",
        "unit",
        "decimal_places",
        "active",
    ]
    show_columns = [
        "code",
        "name_en",
        "name_ar",
        "method_en",
        "method_ar",
        "result_type",
        "options_text",
        "unit",
        "decimal_places",
        "description",
        "active",
        "created_at",
        "updated_at",
    ]
    # The form edits exactly the fields the catalog service accepts.
    add_columns = edit_columns = list(qc_catalog.FIELDS)
    search_columns = ["code", "name_en", "name_ar", "method_en", "result_type", "active"]
    order_columns = ["code", "name_en", "result_type", "active"]
    base_order = ("code", "asc")
    label_columns = {
        "code": "Code",
        "name_en": "Name",
        "name_ar": "Name (Arabic)",
        "method_en": "Method",
        "method_ar": "Method (Arabic)",
        "result_type": "Result type",
        "options_text": "Options (one per line)",
        "unit": "Unit",
        "decimal_places": "Decimal places",
        "description": "Description",
        "active": "Active",
        "created_at": "Created",
        "updated_at": "Updated",
    }
    description_columns = {
        "code": "Capital letters, digits and _ (e.g. PH, RCP, ENDOTOXIN). Used in templates and the API.",
        "result_type": "How a result is entered and judged: numeric results are judged by the template's limits.",
        "decimal_places": "Numeric results are rounded to these places before they are compared with the limits.",
        "options_text": "For option lists only.",
        "active": "Inactive tests stay on existing templates and batches but cannot be added to new versions.",
    }
    formatters_columns = {
        "active": fmt_active,
        "result_type": fmt_type,
        "name_ar": fmt_ar,
        "method_ar": fmt_ar,
        "unit": lambda v: v or Markup('<span class="text-muted">—</span>'),
        "decimal_places": lambda v: Markup('<span class="text-muted">—</span>') if v is None else v,
        "method_en": lambda v: v or Markup('<span class="text-muted">—</span>'),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "name_ar": _arabic("Name (Arabic)"),
        "method_ar": _arabic("Method (Arabic)"),
        "result_type": SelectField(
            "Result type",
            choices=[(t, RESULT_TYPE_LABELS[t]) for t in RESULT_TYPES],
            validators=[DataRequired()],
            widget=Select2Widget(),
        ),
        "options_text": TextAreaField(
            "Options (one per line)", validators=[Optional()], widget=BS3TextAreaFieldWidget()
        ),
        "decimal_places": IntegerField(
            "Decimal places", validators=[Optional(), NumberRange(0, 6)], widget=BS3TextFieldWidget()
        ),
        "active": BooleanField("Active", default=True),
    }

    # --- add / edit through the service ------------------------------------------------------------

    def _values(self, form) -> dict[str, Any]:
        return {name: form[name].data for name in self.add_columns if name in form}

    def _refused(self, form, err: DomainError) -> None:
        fields = (err.details or {}).get("fields") or {}
        for name, message in fields.items():
            if name in form:
                form[name].errors = [
                    *form[name].errors,
                    message if isinstance(message, str) else " ".join(message),
                ]
        flash(err.user_message, "danger")

    def _add(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        form = self.add_form.refresh()
        if request.method == "POST" and form.validate():
            try:
                qc_catalog.create_test_definition(self._values(form), actor=current_actor())
            except DomainError as err:
                self._refused(form, err)
            else:
                flash("QC test added.", "success")
                return None
        elif request.method != "POST":
            self.update_redirect()
        return self._get_add_widget(form=form)

    def _edit(self, pk):
        item = self.datamodel.get(pk)
        if not item:
            abort(404)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            form._id = pk
            if form.validate():
                try:
                    qc_catalog.update_test_definition(item.id, self._values(form), actor=current_actor())
                except DomainError as err:
                    self._refused(form, err)
                    item = self.datamodel.get(pk)
                else:
                    flash("QC test saved.", "success")
                    return None
        else:
            form = self.edit_form.refresh(obj=item)
            self.update_redirect()
        return self._get_edit_widget(form=form)


def qc_date(value) -> str:
    """A date in the site's zone without the zone name (the page footer names it)."""
    from app.core.web import to_local

    local = to_local(value)
    return "—" if local is None else local.strftime("%d %b %Y")


def register(appbuilder) -> None:
    from flask import current_app

    from app.qc import views_batch as qc_batch_views
    from app.qc import views_reports as qc_reports_views
    from app.qc import views_templates as qc_template_views

    current_app.jinja_env.filters["qc_date"] = qc_date
    # Menu order: the day's work first, configuration last.
    qc_reports_views.register(appbuilder)
    qc_template_views.register(appbuilder)
    appbuilder.add_view(
        QcTestDefinitionModelView,
        "QC test definitions",
        icon="fa-flask",
        category=CATEGORY,
        category_icon="fa-flask",
    )
    qc_batch_views.register(appbuilder)
    from app.qc import views_imports

    views_imports.register(appbuilder, CATEGORY)

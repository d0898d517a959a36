"""QP release pages.

/release/                         the queue: batches in QP review, on hold, and QC passed    can_read on Release
/release/<id>                     review by exception + Release / Hold / Reject / Lift hold  can_read on Release
/release/<id>/disposition  POST   the signature dialog's form                            can_release on Batch
/release/<id>/start-review POST   QC passed -> QP review                                 can_transition on Batch
/batches/<id>/coa.pdf             Certificate of Analysis                               can_read on Batch
/release/authorisations/          QP release rights per product (Admin writes, Auditor reads)

The journey's Release tab (batches/_tab_release.html) shows the same panel through the Jinja
global `release_tab(batch)`.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args
from markupsafe import Markup
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from app.batches import queries as batch_queries
from app.batches import service as batches
from app.core.actor import current_actor
from app.core.domain import DomainError
from app.core.web import fmt_local
from app.release import coa
from app.release import review as release_review
from app.release import rights as release_rights
from app.release import service as release
from app.release.models import QpProductAuthorisation


def _may(permission: str, resource: str) -> bool:
    return bool(current_app.appbuilder.sm.has_access(permission, resource))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def release_tab(batch: Any) -> dict[str, Any]:
    """The review panel for one batch, for the current user (used by the journey's Release tab)."""
    batch_id = batch if isinstance(batch, int) else (batch.get("id") if isinstance(batch, dict) else batch.id)
    actor = current_actor()
    model = batch_queries.get_visible(batch_id, actor)
    if batch_queries.viewer_for(actor).restricted:
        return {"restricted": True, "release": release_review.latest_release(batch_id), "batch_id": batch_id}
    data = release_review.review(model, actor)
    data["can_sign"] = _may("can_release", "Batch")
    data["can_start_review"] = _may("can_transition", "Batch") and "QP" in actor.roles
    data["can_audit"] = _may("can_read", "AuditLog")
    return data


class ReleaseView(BaseView):
    route_base = "/release"
    default_view = "index"
    class_permission_name = "Release"
    method_permission_name = {"index": "read", "review": "read"}

    @expose("/")
    @has_access
    def index(self):
        items = release_review.queue()
        counts = {
            "review": sum(1 for i in items if i["status"] == "QP_REVIEW"),
            "hold": sum(1 for i in items if i["status"] == "ON_HOLD"),
            "ready": sum(1 for i in items if i["ready_for_review"]),
        }
        return self.render_template(
            "release/index.html",
            items=items,
            counts=counts,
            can_start_review=_may("can_transition", "Batch") and "QP" in current_actor().roles,
            may_manage_rights=_may("can_read", "QpAuthorisation"),
        )

    @expose("/<int:pk>")
    @has_access
    def review(self, pk: int):
        return self.render_template("release/batch.html", rv=release_tab(pk))


class ReleaseActionView(BaseView):
    """Form posts from the release pages (session + CSRF); the API takes the same actions by token."""

    route_base = "/release"
    class_permission_name = "Batch"
    method_permission_name = {"disposition": "release", "start_review": "transition"}

    @expose("/<int:pk>/disposition", methods=["POST"])
    @has_access
    def disposition(self, pk: int):
        actor = current_actor()
        batch_queries.get_visible(pk, actor)
        version = request.form.get("version", "")
        record = release.decide_disposition(
            pk,
            request.form.get("disposition"),
            actor=actor,
            password=request.form.get("password"),
            meaning=request.form.get("meaning"),
            comment=request.form.get("comment"),
            expected_version=int(version) if version.isdigit() else None,
        )
        words = {
            "RELEASE": "released",
            "HOLD": "put on hold",
            "REJECT": "rejected",
            "LIFT_HOLD": "taken off hold",
        }
        flash(f"Signed: the batch was {words[record.disposition]}.", "success")
        target = request.form.get("next") or url_for("ReleaseView.review", pk=pk)
        if not target.startswith("/") or target.startswith("//") or "\\" in target:  # same-site paths only
            target = url_for("ReleaseView.review", pk=pk)
        if _wants_json():
            return jsonify({"redirect": target, "disposition_id": record.id})
        return redirect(target)

    @expose("/<int:pk>/start-review", methods=["POST"])
    @has_access
    def start_review(self, pk: int):
        actor = current_actor()
        batch_queries.get_visible(pk, actor)
        batches.transition_batch(pk, "QP_REVIEW", actor, request.form.get("note") or None)
        flash("QP review started.", "success")
        return redirect(url_for("ReleaseView.review", pk=pk))


class CoaView(BaseView):
    route_base = "/batches"
    class_permission_name = "Batch"
    method_permission_name = {"coa_pdf": "read"}

    @expose("/<int:pk>/coa.pdf")
    @has_access
    def coa_pdf(self, pk: int):
        pdf, name = coa.render_pdf(pk, current_actor())
        return Response(
            pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
        )


# --- release rights per product (Admin) --------------------------------------------------------
def _fmt_active(value: Any) -> Markup:
    return Markup(
        '<span class="label label-default">Revoked</span>'
        if value
        else '<span class="label label-success">Active</span>'
    )


def _fmt_revoke_link(pk: Any) -> Markup:
    return Markup('<a class="btn btn-xs btn-default" href="{}">Revoke…</a>').format(
        url_for("QpAuthorisationView.revoke", pk=pk)
    )


class QpAuthorisationView(ModelView):
    """Grants are added and revoked through `app.release.rights` (audited, one commit)."""

    route_base = "/release/authorisations"
    datamodel = SQLAInterface(QpProductAuthorisation)
    class_permission_name = "QpAuthorisation"
    method_permission_name = {"list": "read", "show": "read", "add": "write", "revoke": "write"}
    exclude_route_methods = {"edit", "delete", "action", "action_post", "download", "api", "api_read", "api_get",
                             "api_create", "api_update", "api_delete", "api_column_add", "api_column_edit",
                             "api_readvalues"}  # fmt: skip
    list_title = "QP release rights"
    show_title = "QP release right"
    add_title = "Authorise a QP for a product"
    label_columns = {
        "user": "QP",
        "product": "Product",
        "granted_by_name": "Granted by",
        "granted_at": "Granted",
        "note": "Note",
        "revoked_at": "Status",
        "revoked_by_name": "Revoked by",
        "revoke_reason": "Reason for revoking",
        "id": "Action",
    }
    list_columns = ["user", "product", "granted_by_name", "granted_at", "revoked_at", "revoked_by_name", "id"]
    show_columns = ["user", "product", "granted_by_name", "granted_at", "note", "revoked_at", "revoked_by_name",
                    "revoke_reason"]  # fmt: skip
    add_columns = ["user", "product", "note"]
    search_columns = ["user", "product", "granted_by_name"]
    base_order = ("granted_at", "desc")
    formatters_columns = {
        "revoked_at": _fmt_active,
        "id": _fmt_revoke_link,
        "granted_at": fmt_local,
        "revoked_by_name": lambda v: v or "—",
    }
    add_form_extra_fields = {"note": TextAreaField("Note", validators=[Optional(), Length(max=1000)])}
    description_columns = {
        "user": "Only users holding the QP role can be authorised.",
        "note": "Why this QP may certify this product (training, qualification record).",
    }

    def _add(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        form = self.add_form.refresh()
        if request.method == "POST" and form.validate():
            user, product = form.user.data, form.product.data
            try:
                release_rights.grant(
                    getattr(user, "id", None),
                    getattr(product, "id", None),
                    actor=current_actor(),
                    note=form.note.data,
                )
            except DomainError as err:
                flash(err.user_message, "danger")
            else:
                flash("Release right granted.", "success")
                return None
        return self._get_add_widget(form=form)

    @expose("/revoke/<int:pk>", methods=["GET", "POST"])
    @has_access
    def revoke(self, pk: int):
        item = self.datamodel.get(pk)
        if item is None:
            abort(404)
        if request.method == "POST":
            try:
                release_rights.revoke(pk, actor=current_actor(), reason=request.form.get("reason"))
            except DomainError as err:
                flash(err.user_message, "danger")
            else:
                flash("Release right revoked. The record is kept in the list and the audit trail.", "success")
                return redirect(url_for("QpAuthorisationView.list"))
        return self.render_template("release/revoke.html", item=item)


def register(appbuilder) -> None:
    current_app.add_template_global(release_tab, "release_tab")
    appbuilder.add_view(
        ReleaseView, "QP release", icon="fa-certificate", category="Quality", category_icon="fa-check-circle"
    )
    appbuilder.add_view(QpAuthorisationView, "QP release rights", icon="fa-user-check", category="Quality")
    appbuilder.add_view_no_menu(ReleaseActionView)
    appbuilder.add_view_no_menu(CoaView)

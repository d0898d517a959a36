"""The guided action dialog's endpoint: POST /batches/<id>/act (form with CSRF token).

The dialog posts here in the background with "Accept: application/json": success answers
{"redirect": url} (the page reloads there and shows the flash message); a refusal is the
DomainError as JSON ({"code","userMessage","traceId"}, by app/core/errors.py), which the dialog shows
in place. Without JavaScript the form posts normally: success redirects, a refusal comes back as
a flash message on the page it came from.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.batches import pages as batch_pages
from app.core.actor import current_actor
from app.core.errors import wants_json


def safe_next(raw: str | None, default: str) -> str:
    """Only our own batch pages (a relative path under /batches/) are followed after an action."""
    if raw and raw.startswith("/batches/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return default


class BatchActionsView(BaseView):
    route_base = "/batches"
    class_permission_name = "Batch"
    method_permission_name = {"act": "transition"}

    @expose("/<int:batch_id>/act", methods=["POST"])
    @has_access
    def act(self, batch_id: int):
        form = request.form
        batch, message = batch_pages.perform_action(
            batch_id,
            current_actor(),
            to_status=form.get("to_status", ""),
            note=form.get("note"),
            version=batch_pages.parse_version(form.get("version")),
            confirmed=form.getlist("checklist"),
            fields={k[len("field_") :]: v for k, v in form.items() if k.startswith("field_")},
            override=form.get("override") == "1",
        )
        flash(message, "success")
        target = safe_next(form.get("next"), url_for("BatchPagesView.journey", batch_id=batch.id))
        if wants_json():
            return jsonify(redirect=target, message=message, status=batch.status)
        return redirect(target)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(BatchActionsView)

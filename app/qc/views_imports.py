"""Instrument import pages: upload a CSV, see the preview row by row, apply, list the imports."""

from __future__ import annotations

import datetime as dt

from flask import Response, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.core.actor import current_actor
from app.core.exports import csv_text
from app.qc import attachments as qc_attachments
from app.qc import imports as qc_imports


class QcImportView(BaseView):
    route_base = "/qc/imports"
    default_view = "index"
    class_permission_name = "QcSession"
    method_permission_name = {
        "index": "read",
        "show": "read",
        "export": "read",
        "upload": "enter",
        "apply": "enter",
    }

    @expose("/")
    @has_access
    def index(self):
        return self.render_template(
            "qc/imports.html",
            imports=qc_imports.list_imports(),
            columns=qc_imports.COLUMNS,
            max_mb=qc_imports.max_bytes() / (1024 * 1024),
        )

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        qc_attachments.check_content_length(request.content_length)
        request.max_content_length = qc_attachments.request_limit()
        upload = request.files.get("file")
        item = qc_imports.preview_csv(
            upload.stream if upload else None, upload.filename if upload else None, actor=current_actor()
        )
        return redirect(url_for("QcImportView.show", import_id=item.id))

    @expose("/<int:import_id>")
    @has_access
    def show(self, import_id: int):
        item = qc_imports.get_import(import_id)
        corrections = sum(1 for r in item.preview if not r.get("errors") and r.get("kind") == "CORRECTION")
        # The instant each row was read as (shown in site time with the zone named; the file's text on hover).
        measured = {
            r["line"]: dt.datetime.fromisoformat(r["measured_at_utc"])
            for r in item.preview
            if r.get("measured_at_utc")
        }
        return self.render_template(
            "qc/import.html",
            item=item,
            corrections=corrections,
            columns=qc_imports.COLUMNS,
            measured=measured,
        )

    @expose("/<int:import_id>/apply", methods=["POST"])
    @has_access
    def apply(self, import_id: int):
        item = qc_imports.apply_import(import_id, reason=request.form.get("reason"), actor=current_actor())
        refused = item.rows_total - item.rows_valid
        flash(
            f"{item.rows_applied} result{'s' if item.rows_applied != 1 else ''} recorded"
            + (f"; {refused} row{'s' if refused != 1 else ''} refused." if refused else "."),
            "success" if item.rows_applied else "warning",
        )
        return redirect(url_for("QcImportView.show", import_id=import_id))

    @expose("/<int:import_id>/export.csv")
    @has_access
    def export(self, import_id: int):
        item = qc_imports.get_import(import_id)
        body = csv_text(qc_imports.EXPORT_HEADER, qc_imports.export_rows(item))
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="qc-import-{item.id}.csv"'},
        )


def register(appbuilder, category: str) -> None:
    appbuilder.add_view(QcImportView, "Instrument imports", icon="fa-upload", category=category)

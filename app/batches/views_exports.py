"""Export logs of one batch: GET /batches/<id>/export.csv and /batches/<id>/export.pdf.

Same visibility as the journey (a hospital only its own batches, never metadata); permission
`can_export on Batch`.
"""

from __future__ import annotations

import re

from flask import Response
from flask_appbuilder import BaseView, expose, has_access

from app.batches import log_report as batch_log
from app.batches import pages as batch_pages
from app.batches import queries
from app.core.actor import current_actor


def _filename(batch_no: str, ext: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{batch_no}-log.{ext}")


class BatchExportView(BaseView):
    route_base = "/batches"
    class_permission_name = "Batch"
    method_permission_name = {"export_csv": "export", "export_pdf": "export"}

    def _data(self, batch_id: int):
        actor = current_actor()
        detail = queries.batch_detail(batch_id, actor)
        events = queries.batch_events(batch_id, actor)
        internal = not queries.viewer_for(actor).restricted
        return actor, detail, events, batch_pages.signatures_for(events), internal

    @expose("/<int:batch_id>/export.csv")
    @has_access
    def export_csv(self, batch_id: int):
        _, detail, events, signatures, internal = self._data(batch_id)
        body = "\ufeff" + batch_log.log_csv(detail, events, signatures, internal=internal)
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{_filename(detail["batch_no"], "csv")}"'},
        )

    @expose("/<int:batch_id>/export.pdf")
    @has_access
    def export_pdf(self, batch_id: int):
        actor, detail, events, signatures, internal = self._data(batch_id)
        pdf = batch_log.log_pdf(
            detail, events, signatures, internal=internal, generated_by=actor.printed_name
        )
        return Response(
            pdf,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{_filename(detail["batch_no"], "pdf")}"'},
        )


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(BatchExportView)

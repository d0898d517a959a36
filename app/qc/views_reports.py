"""QC worklist (/qc/) and QC reports (/qc/reports) with Excel and PDF exports."""

from __future__ import annotations

import datetime as dt

from flask import Response, flash, render_template, request
from flask_appbuilder import BaseView, expose, has_access

from app.core.actor import current_actor
from app.core.domain import DomainError
from app.core.web import fmt_local
from app.qc import reports as qc_reports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _subtitle(f: qc_reports.ReportFilter, product_codes: dict[int, str]) -> str:
    parts = [f"Product: {product_codes.get(f.product_id, 'all')}" if f.product_id else "All products"]
    if f.date_from or f.date_to:
        parts.append(f"{f.date_from or '…'} to {f.date_to or '…'}")
    return " · ".join(parts)


class QcReportsView(BaseView):
    route_base = "/qc"
    default_view = "worklist"
    class_permission_name = "QcSession"
    method_permission_name = {"worklist": "read", "reports": "read", "export": "read"}

    @expose("/")
    @has_access
    def worklist(self):
        return self.render_template("qc/worklist.html", data=qc_reports.worklist())

    def _filter(self) -> qc_reports.ReportFilter:
        try:
            return qc_reports.parse_filter(request.args)
        except DomainError as err:
            flash(err.user_message, "danger")
            return qc_reports.ReportFilter()

    @expose("/reports")
    @has_access
    def reports(self):
        kind = request.args.get("report", "results")
        if kind not in qc_reports.REPORTS:
            kind = "results"
        f = self._filter()
        title, columns, rows = qc_reports.report(kind, f)
        return self.render_template(
            "qc/reports.html",
            kind=kind,
            title=title,
            columns=columns,
            rows=rows[:1000],
            total=len(rows),
            f=f,
            products=qc_reports.products(),
            reports=qc_reports.REPORTS,
        )

    @expose("/reports/export.<fmt>")
    @has_access
    def export(self, fmt: str):
        kind = request.args.get("report", "results")
        f = qc_reports.parse_filter(request.args)
        title, columns, rows = qc_reports.report(kind, f)
        codes = {p.id: p.code for p in qc_reports.products()}
        subtitle = _subtitle(f, codes)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
        if fmt == "xlsx":
            body = qc_reports.to_xlsx(title, columns, rows, f"{subtitle} · times in local time")
            return Response(
                body,
                mimetype=XLSX,
                headers={"Content-Disposition": f'attachment; filename="qc-{kind}-{stamp}.xlsx"'},
            )
        if fmt == "pdf":
            from flask import current_app
            from weasyprint import HTML

            html = render_template(
                "qc/report_pdf.html",
                title=title,
                subtitle=subtitle,
                columns=columns,
                rows=rows,
                generated_at=fmt_local(dt.datetime.now(dt.UTC)),
                generated_by=current_actor().printed_name,
            )
            body = HTML(string=html, base_url=current_app.root_path).write_pdf()
            return Response(
                body,
                mimetype="application/pdf",
                headers={"Content-Disposition": f'attachment; filename="qc-{kind}-{stamp}.pdf"'},
            )
        raise DomainError("NOT_FOUND", "Export as xlsx or pdf.", 404)


def register(appbuilder) -> None:
    view = appbuilder.add_view(
        QcReportsView, "QC worklist", href="/qc/", icon="fa-tasks", category="QC", category_icon="fa-flask"
    )
    appbuilder.add_link("QC reports", href="/qc/reports", icon="fa-bar-chart", category="QC", baseview=view)

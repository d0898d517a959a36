"""The KPI page `/kpis`: date range and product filter, a chart per KPI with its table, CSV export."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Response, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app.core.exports import csv_text
from app.core.extensions import db
from app.core.web import site_tz
from app.kpis import queries
from app.masterdata.models import Product
from app.masterdata.preferences import activity_filter

MAX_DAYS = 400


def _filters() -> tuple[dt.date, dt.date, int | None]:
    today = dt.datetime.now(site_tz()).date()
    try:
        d1 = dt.date.fromisoformat(request.args.get("to") or today.isoformat())
        d0 = dt.date.fromisoformat(request.args.get("from") or (d1 - dt.timedelta(days=29)).isoformat())
    except ValueError:
        d0, d1 = today - dt.timedelta(days=29), today
    if d0 > d1:
        d0, d1 = d1, d0
    d0 = max(d0, d1 - dt.timedelta(days=MAX_DAYS))
    raw = request.args.get("product")
    return d0, d1, int(raw) if raw and raw.isdigit() else None


def page_data(d0: dt.date, d1: dt.date, product_id: int | None) -> dict[str, Any]:
    minutes = queries.minutes_by_window(d0, d1, product_id)
    data = {
        "minutes": minutes,
        "weekly": queries.utilization(minutes, "week"),
        "monthly": queries.utilization(minutes, "month"),
        "lead": queries.lead_times(d0, d1, product_id),
        "handoffs": queries.handoffs(d0, d1, product_id),
        "yields": queries.yields(d0, d1, product_id),
        "dispensed": queries.dispensed(d0, d1, product_id),
        "otif": queries.otif(d0, d1, product_id),
        "first_pass": queries.first_pass(d0, d1, product_id),
    }
    return data


KPIS = {
    "minutes": "Reserved vs committed minutes",
    "weekly": "Utilization by week",
    "monthly": "Utilization by month",
    "lead": "Release lead time",
    "handoffs": "Release, dispatch, delivery",
    "yields": "Yield per batch",
    "dispensed": "Dispensed vs produced",
    "otif": "OTIF",
    "first_pass": "QC first-pass rate",
}


def _xlsx(data: dict[str, Any], kpis: list[str]) -> bytes:
    import io

    from openpyxl import Workbook

    from app.core.exports import xlsx_row

    wb = Workbook()
    wb.remove(wb.active)
    for kpi in kpis:
        ws = wb.create_sheet(KPIS[kpi][:31])
        rows = data[kpi]
        xlsx_row(ws, list(rows[0].keys()) if rows else ["no data in this period"])
        for r in rows:
            xlsx_row(ws, [float(v) if isinstance(v, Decimal) else v for v in r.values()])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# Activities of a KPI row and the names of their texts for the charts' tooltips (in the reader's unit).
ACTIVITY_TEXTS = {
    "yields": {"planned_corrected_mbq": "planned_text", "actual_mbq": "actual_text"},
    "dispensed": {"produced_mbq": "produced_text", "dispensed_eos_mbq": "dispensed_text"},
}


def with_activity_texts(rows: list[dict[str, Any]], kpi: str) -> list[dict[str, Any]]:
    """The rows with each activity also as text in the signed-in person's unit ('10.00 mCi',
    '12.35 GBq'), formatted by the same `activity` filter as the tables, so chart and table agree.
    The MBq numbers stay as they are (the data, as in the exports)."""
    texts = ACTIVITY_TEXTS.get(kpi, {})
    return [r | {text: activity_filter(r.get(key)) for key, text in texts.items()} for r in rows]


def chart_json(data: dict[str, Any]) -> dict[str, Any]:
    """The same rows as plain JSON values for Chart.js (dates as labels, decimals as numbers), the
    activities also as text in the reader's unit for the tooltips."""

    def plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                k: (float(v) if isinstance(v, Decimal) else str(v) if isinstance(v, dt.date) else v)
                for k, v in r.items()
            }
            for r in rows
        ]

    return {
        "minutes": plain(data["minutes"]),
        "weekly": plain(data["weekly"]),
        "lead": plain(data["lead"]),
        "handoffs": plain(data["handoffs"]),
        "dispensed": plain(with_activity_texts(data["dispensed"], "dispensed")),
        "otif": plain(data["otif"]),
        "yields": plain(with_activity_texts(data["yields"], "yields")),
        "fp": plain(data["first_pass"]),
    }


class KpiView(BaseView):
    route_base = "/kpis"
    default_view = "index"
    class_permission_name = "Kpi"
    method_permission_name = {"index": "read", "export": "read", "workbook": "read", "pdf": "read"}

    @expose("/")
    @has_access
    def index(self):
        d0, d1, product_id = _filters()
        products = db.session.execute(select(Product).order_by(Product.code)).scalars().all()
        data = page_data(d0, d1, product_id)
        return self.render_template(
            "kpis/index.html",
            d0=d0,
            d1=d1,
            product_id=product_id,
            products=products,
            computed_at=queries.computed_at(),
            chart=chart_json(data),
            **data,
        )

    @expose("/export/<kpi>.csv")
    @has_access
    def export(self, kpi: str):
        d0, d1, product_id = _filters()
        data = page_data(d0, d1, product_id)
        if kpi not in KPIS:
            return Response("Unknown KPI.", status=404)
        rows = data[kpi]
        header = list(rows[0].keys()) if rows else ["no data"]
        body = csv_text(header, [list(r.values()) for r in rows])
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="kpi-{kpi}-{d0}-{d1}.csv"'},
        )

    @expose("/export/kpis.xlsx")
    @has_access
    def workbook(self):
        """Every KPI of the filtered period, one sheet each (text cells never formulas)."""
        d0, d1, product_id = _filters()
        body = _xlsx(page_data(d0, d1, product_id), list(KPIS))
        return Response(
            body,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="kpis-{d0}-{d1}.xlsx"'},
        )

    @expose("/export/kpis.pdf")
    @has_access
    def pdf(self):
        """The tables of the page as a PDF (WeasyPrint), with when the figures were computed."""
        from flask import current_app, render_template
        from weasyprint import HTML

        d0, d1, product_id = _filters()
        product = db.session.get(Product, product_id) if product_id else None
        html = render_template(
            "kpis/report_pdf.html",
            d0=d0,
            d1=d1,
            product=product,
            computed_at=queries.computed_at(),
            kpis=KPIS,
            **page_data(d0, d1, product_id),
        )
        body = HTML(string=html, base_url=current_app.root_path).write_pdf()
        return Response(
            body,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="kpis-{d0}-{d1}.pdf"'},
        )


def register(appbuilder) -> None:
    appbuilder.add_view(KpiView, "KPIs", icon="fa-line-chart", category="Quality")

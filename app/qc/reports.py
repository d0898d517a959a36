"""QC worklist and reports (read only): sessions to work on, results by product and batch, pass/fail
rate per test and product, the out-of-specification list; exports to Excel and PDF.

Dates filter on when a result was entered (results, rates) or a case was opened (OOS), in the
site's time zone, both ends inclusive.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, case, func, select

from app.batches.models import Batch
from app.core.domain import ValidationFailed
from app.core.extensions import db
from app.core.web import site_tz, to_local
from app.masterdata.models import Product
from app.qc.domain.session_flow import STATUS_LABELS
from app.qc.models import BatchQcResult, BatchQcSample, BatchQcSession, OosCase
from app.qc.outcome import value_text
from app.qc.samples import SAMPLE_LABELS

MAX_ROWS = 5000
WORKLIST_STATES = ("NOT_STARTED", "IN_PROGRESS", "WAITING_REVIEW")


@dataclass(frozen=True)
class ReportFilter:
    product_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        tz = site_tz()
        start = dt.datetime.combine(self.date_from, dt.time.min, tz) if self.date_from else None
        end = (
            dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, tz)
            if self.date_to
            else None
        )
        return start, end


def parse_filter(args: Any) -> ReportFilter:
    """From query parameters; a bad date or product is a 422 naming the field."""

    def day(name: str) -> dt.date | None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise ValidationFailed(
                f"{name.replace('_', ' ')} is not a date (YYYY-MM-DD).", {name: "date"}
            ) from None

    raw_product = (args.get("product") or "").strip()
    product_id = None
    if raw_product:
        if not raw_product.isdigit():
            raise ValidationFailed("Choose a product from the list.", {"product": "unknown"})
        product_id = int(raw_product)
    f = ReportFilter(product_id=product_id, date_from=day("date_from"), date_to=day("date_to"))
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise ValidationFailed("The start date is after the end date.", {"date_to": "before date_from"})
    return f


def products() -> list[Product]:
    return list(db.session.execute(select(Product).order_by(Product.code)).scalars())


# --- worklist ------------------------------------------------------------------------------------


def worklist() -> dict[str, Any]:
    """Open sessions (results to enter, to review), after-release tests pending, open OOS cases."""
    rows = db.session.execute(
        select(BatchQcSession, Batch.batch_no, Batch.status, Product.code)
        .join(Batch, Batch.id == BatchQcSession.batch_id)
        .join(Product, Product.id == BatchQcSession.product_id)
        .where(BatchQcSession.status.in_((*WORKLIST_STATES, "QC_PASSED")))
        .order_by(Batch.planned_start_at.desc())
        .limit(500)
    ).all()
    counts = {r[0].id: _progress(r[0]) for r in rows}
    items = []
    for session, batch_no, batch_status, code in rows:
        done, total, failed, after = counts[session.id]
        if session.status == "QC_PASSED" and not after:
            continue
        if session.status in ("NOT_STARTED", "IN_PROGRESS") and batch_status not in (
            "QC_PENDING",
            "QC_IN_PROGRESS",
        ):
            continue  # not in QC yet (planned, in production) or stopped (deviation, hold)
        items.append(
            {
                "batch_id": session.batch_id,
                "batch_no": batch_no,
                "product": code,
                "status": session.status,
                "status_label": STATUS_LABELS[session.status],
                "progress": f"{done}/{total}",
                "failed": failed,
                "after_release_pending": after,
                "warning": session.warning,
                "analyst": session.analyst_name,
                "queue": "review"
                if session.status == "WAITING_REVIEW"
                else "after_release"
                if session.status == "QC_PASSED"
                else "entry",
            }
        )
    open_oos = db.session.execute(
        select(func.count()).select_from(OosCase).where(OosCase.status != "CLOSED")
    ).scalar()
    return {
        "items": items,
        "counts": {
            "entry": sum(1 for i in items if i["queue"] == "entry"),
            "review": sum(1 for i in items if i["queue"] == "review"),
            "after_release": sum(1 for i in items if i["queue"] == "after_release"),
            "oos_open": open_oos,
        },
    }


def _progress(session: BatchQcSession) -> tuple[int, int, int, int]:
    results = session.results
    done = sum(1 for r in results if r.status != "PENDING")
    failed = sum(1 for r in results if r.status == "FAIL")
    after = sum(1 for r in results if r.timing == "AFTER_RELEASE" and r.is_required and r.status == "PENDING")
    return done, len(results), failed, after


# --- reports -------------------------------------------------------------------------------------


def _result_conditions(f: ReportFilter) -> list:
    start, end = f.bounds()
    cond = [BatchQcResult.value_version > 0]
    if f.product_id:
        cond.append(BatchQcSession.product_id == f.product_id)
    if start:
        cond.append(BatchQcResult.entered_at >= start)
    if end:
        cond.append(BatchQcResult.entered_at < end)
    return cond


def results(f: ReportFilter) -> list[dict[str, Any]]:
    """QC results by product and batch (entered values only), newest batch first."""
    rows = db.session.execute(
        select(BatchQcResult, Batch.batch_no, Product.code, Batch.id, BatchQcSample)
        .join(BatchQcSession, BatchQcSession.id == BatchQcResult.session_id)
        .join(Batch, Batch.id == BatchQcSession.batch_id)
        .join(Product, Product.id == BatchQcSession.product_id)
        .outerjoin(BatchQcSample, BatchQcSample.id == BatchQcResult.sample_id)
        .where(*_result_conditions(f))
        .order_by(Product.code, Batch.batch_no.desc(), BatchQcResult.display_order)
        .limit(MAX_ROWS)
    ).all()
    return [
        {
            "product": code,
            "batch_id": batch_id,
            "batch_no": batch_no,
            "test": r.test_name_en,
            "test_code": r.test_code,
            "criteria": r.criteria_display_en,
            "result": value_text(r),
            "status": r.status,
            "fail_reason": r.fail_reason or "",
            "alert": r.alert_reason or "",
            "entered_by": r.entered_by_name or "",
            "entered_at": to_local(r.entered_at),
            "timing": "After release" if r.timing == "AFTER_RELEASE" else "Before release",
            "sample": _sample_words(sample),
        }
        for r, batch_no, code, batch_id, sample in rows
    ]


def _sample_words(sample: BatchQcSample | None) -> str:
    """'Endotoxin #12, taken 22 Nov 03:20' (site-local), or that no sample was named."""
    if sample is None:
        return "Not named"
    taken = to_local(sample.taken_at)
    when = taken.strftime("%d %b %H:%M") if taken is not None else ""
    return f"{SAMPLE_LABELS[sample.sample_type]} #{sample.id}, taken {when}"


def rates(f: ReportFilter) -> list[dict[str, Any]]:
    """Pass/fail rate per product and test over decided results (N/A excluded)."""
    decided = BatchQcResult.status.in_(("PASS", "FAIL"))
    passed = func.sum(case((BatchQcResult.status == "PASS", 1), else_=0)).cast(Integer)
    failed = func.sum(case((BatchQcResult.status == "FAIL", 1), else_=0)).cast(Integer)
    alerts = func.sum(
        case((and_(BatchQcResult.status == "PASS", BatchQcResult.alert.is_(True)), 1), else_=0)
    ).cast(Integer)
    rows = db.session.execute(
        select(
            Product.code,
            BatchQcResult.test_code,
            func.min(BatchQcResult.test_name_en),
            func.count(),
            passed,
            failed,
            alerts,
        )
        .join(BatchQcSession, BatchQcSession.id == BatchQcResult.session_id)
        .join(Product, Product.id == BatchQcSession.product_id)
        .where(*_result_conditions(f), decided)
        .group_by(Product.code, BatchQcResult.test_code)
        .order_by(Product.code, BatchQcResult.test_code)
    ).all()
    return [
        {
            "product": code,
            "test_code": test_code,
            "test": name,
            "decided": n,
            "passed": p,
            "failed": fl,
            "alerts": a,
            "pass_rate": round(100.0 * p / n, 1) if n else None,
        }
        for code, test_code, name, n, p, fl, a in rows
    ]


def oos(f: ReportFilter) -> list[dict[str, Any]]:
    """Out-of-specification cases, newest first."""
    start, end = f.bounds()
    cond = []
    if f.product_id:
        cond.append(Batch.product_id == f.product_id)
    if start:
        cond.append(OosCase.opened_at >= start)
    if end:
        cond.append(OosCase.opened_at < end)
    rows = db.session.execute(
        select(OosCase, Batch.batch_no, Product.code, BatchQcResult.test_name_en)
        .join(Batch, Batch.id == OosCase.batch_id)
        .join(Product, Product.id == Batch.product_id)
        .outerjoin(BatchQcResult, BatchQcResult.id == OosCase.result_id)
        .where(*cond)
        .order_by(OosCase.opened_at.desc(), OosCase.id.desc())
        .limit(MAX_ROWS)
    ).all()
    return [
        {
            "id": c.id,
            "batch_id": c.batch_id,
            "batch_no": batch_no,
            "product": code,
            "test": test or "Whole session",
            "reason": c.reason,
            "status": c.status,
            "opened_at": to_local(c.opened_at),
            "opened_by": c.opened_by_name,
        }
        for c, batch_no, code, test in rows
    ]


REPORTS = {
    "results": (
        "QC results by product and batch",
        results,
        [
            ("product", "Product"),
            ("batch_no", "Batch"),
            ("test", "Test"),
            ("criteria", "Criteria"),
            ("result", "Result"),
            ("status", "Status"),
            ("fail_reason", "Fail reason"),
            ("alert", "Alert"),
            ("timing", "Timing"),
            ("sample", "Sample"),
            ("entered_by", "Entered by"),
            ("entered_at", "Entered at"),
        ],
    ),
    "rates": (
        "Pass/fail rate per test and product",
        rates,
        [
            ("product", "Product"),
            ("test", "Test"),
            ("decided", "Decided"),
            ("passed", "Passed"),
            ("failed", "Failed"),
            ("alerts", "Alerts"),
            ("pass_rate", "Pass rate %"),
        ],
    ),
    "oos": (
        "Out-of-specification list",
        oos,
        [
            ("id", "Case"),
            ("batch_no", "Batch"),
            ("product", "Product"),
            ("test", "Test"),
            ("reason", "Reason"),
            ("status", "Status"),
            ("opened_by", "Opened by"),
            ("opened_at", "Opened at"),
        ],
    ),
}


def report(kind: str, f: ReportFilter) -> tuple[str, list[tuple[str, str]], list[dict[str, Any]]]:
    if kind not in REPORTS:
        raise ValidationFailed("Choose results, rates or oos.", {"report": "unknown"})
    title, fn, columns = REPORTS[kind]
    return title, columns, fn(f)


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones: local time, named in the header
    return value


def to_xlsx(title: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]], subtitle: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from app.core.exports import xlsx_row

    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\\/*?:\[\]]", "-", title)[:31]  # Excel forbids these in sheet names
    xlsx_row(ws, [title])
    ws["A1"].font = Font(bold=True, size=14)
    xlsx_row(ws, [subtitle])
    ws.append([])
    xlsx_row(ws, [label for _, label in columns])
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for row in rows:
        xlsx_row(ws, [_cell(row.get(key)) for key, _ in columns])
    for i, (key, label) in enumerate(columns, start=1):
        width = max([len(label)] + [min(60, len(str(r.get(key) or ""))) for r in rows[:500]])
        ws.column_dimensions[get_column_letter(i)].width = max(10, width + 2)
        if rows and isinstance(rows[0].get(key), dt.datetime):
            for cell in ws[get_column_letter(i)][4:]:
                cell.number_format = "yyyy-mm-dd hh:mm"
    ws.freeze_panes = "A5"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

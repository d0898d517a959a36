"""Export of a batch's journey logs: CSV and PDF (WeasyPrint).

Both carry every event of the timeline with its local time (zone named) and UTC time, the actor and
role, the note and the signature manifestation of signed events; metadata only for internal roles
(a hospital's export never holds it). The PDF adds the batch summary and the stepper, with page
numbers and the generated-at time on every page. Arabic text is laid out right-to-left (Noto).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import current_app, render_template

from app.core.exports import csv_text
from app.core.web import fmt_local, fmt_utc, to_local

CSV_COLUMNS = (
    "batch_no",
    "occurred_at_local",
    "timezone",
    "occurred_at_utc",
    "title",
    "event_type",
    "from_status",
    "to_status",
    "actor",
    "role",
    "note",
    "override",
    "signature",
)


def signature_text(sig: dict[str, Any] | None) -> str:
    if not sig:
        return ""
    text = f"{sig['meaning']} — signed electronically by {sig['printed_name']}"
    if sig.get("roles"):
        text += f" ({sig['roles']})"
    return f"{text}, {sig['local_text']} / {sig['utc_text']}"


def log_csv(
    detail: dict[str, Any], events: list[dict[str, Any]], signatures: dict[int, dict], *, internal: bool
) -> str:
    """The timeline as CSV, oldest first (spreadsheet-safe: cells never start a formula)."""
    rows = []
    tz = current_app.config["SITE_TIMEZONE"]
    for e in events:
        local = to_local(e["occurred_at"])
        row = [
            detail["batch_no"],
            local.strftime("%Y-%m-%d %H:%M:%S") if local else "",
            tz,
            e["occurred_at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            e["title"],
            e["event_type"],
            e["from_status"] or "",
            e["to_status"] or "",
            e["actor"]["name"],
            e["actor"]["role"],
            e["note"] or "",
            "yes" if e["is_override"] else "",
            signature_text(signatures.get(e["signature_id"])) if e.get("signature_id") else "",
        ]
        if internal:
            meta = e.get("metadata")
            row += [
                json.dumps(meta, ensure_ascii=False, sort_keys=True) if meta else "",
                e.get("trace_id") or "",
            ]
        rows.append(row)
    return csv_text([*CSV_COLUMNS, *(["metadata", "trace_id"] if internal else [])], rows)


def log_pdf(
    detail: dict[str, Any],
    events: list[dict[str, Any]],
    signatures: dict[int, dict],
    *,
    internal: bool,
    generated_by: str,
) -> bytes:
    """The journey logs as a PDF: summary, stepper, timeline, signatures; numbered pages."""
    from weasyprint import HTML

    now = dt.datetime.now(dt.UTC)
    html = render_template(
        "batches/log_pdf.html",
        b=detail,
        events=events,
        signatures=signatures,
        internal=internal,
        generated_at=fmt_local(now),
        generated_at_utc=fmt_utc(now),
        generated_by=generated_by,
        json=json,
    )
    return HTML(string=html, base_url=current_app.root_path).write_pdf()

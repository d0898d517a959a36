"""Dose labels as ZPL (thermal printer) and PDF (WeasyPrint), both from the dose's stored label data.

The QR code (dose unit id) is generated server-side as SVG (segno), the trefoil is inline SVG: the
PDF needs nothing from the network. One PDF sheet holds every dispensed dose of a batch.
"""

from __future__ import annotations

from typing import Any

import segno
from flask import current_app, render_template
from markupsafe import Markup

from app.core.domain import DomainError
from app.dispensing.domain import labels
from app.dispensing.models import DoseUnit


def _data(dose: DoseUnit) -> dict[str, Any]:
    if not dose.label_data:
        raise DomainError("LABEL_NOT_READY", "The label is printed once the dose is dispensed.", 409)
    return dict(dose.label_data)


def zpl(dose: DoseUnit) -> str:
    return labels.zpl_label(_data(dose))


def qr_svg(text: str) -> Markup:
    """An inline SVG QR code (error correction M) of `text`."""
    svg = segno.make(text, error="m").svg_inline(scale=3, border=2, dark="#000")
    return Markup(svg)  # noqa: S704 (segno's own markup; the payload is our dose id)


def pdf(doses: list[DoseUnit]) -> bytes:
    """One A4 sheet (or more) with a label per dose."""
    from weasyprint import HTML

    items = []
    for dose in doses:
        data = _data(dose)
        items.append(
            {
                "f": data,
                "qr": qr_svg(data["dose_unit_id"]),
                "activity": labels.activity_lines(data["activity"]),
            }
        )
    if not items:
        raise DomainError("LABEL_NOT_READY", "No dispensed dose to print a label for yet.", 409)
    html = render_template("dispensing/labels.html", items=items)
    return HTML(string=html, base_url=current_app.root_path).write_pdf()

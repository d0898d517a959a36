"""PDFs of logistics: the transport document of a shipment (WeasyPrint)."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template


def transport_document(detail: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    html = render_template(
        "logistics/transport_document.html",
        s=detail,
        consignor=current_app.config.get("MANUFACTURER_NAME") or "RadioPharma cyclotron department",
        consignor_address=current_app.config.get("MANUFACTURER_ADDRESS") or "",
    )
    return HTML(string=html, base_url=current_app.root_path).write_pdf()


def genealogy_pdf(tree: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    html = render_template("logistics/genealogy_pdf.html", tree=tree)
    return HTML(string=html, base_url=current_app.root_path).write_pdf()

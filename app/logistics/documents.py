"""PDFs of logistics: the transport document of a shipment and the genealogy (WeasyPrint)."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from app.core.domain import DomainError


def transport_document(detail: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    html = render_template(
        "logistics/transport_document.html",
        s=detail,
        consignor=current_app.config.get("MANUFACTURER_NAME") or "RadioPharma cyclotron department",
        consignor_address=current_app.config.get("MANUFACTURER_ADDRESS") or "",
    )
    return HTML(string=html, base_url=current_app.root_path).write_pdf()


# A PDF of more links than this is refused with a pointer to the CSV (WeasyPrint would take minutes
# and the document would run to thousands of pages).
PDF_LINKS = 5_000


def genealogy_pdf(tree: dict[str, Any]) -> bytes:
    """The genealogy as a PDF table; one of more than PDF_LINKS links is refused (422)."""
    from weasyprint import HTML

    links = len(tree["edges"])
    if links > PDF_LINKS:
        raise DomainError(
            "TOO_LARGE_FOR_PDF",
            f"This genealogy has {links:,} links, too many for a PDF (at most {PDF_LINKS:,}). "
            "Download the CSV, which holds them all, or start from one batch.",
            422,
        )
    html = render_template("logistics/genealogy_pdf.html", tree=tree)
    return HTML(string=html, base_url=current_app.root_path).write_pdf()

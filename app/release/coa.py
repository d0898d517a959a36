"""Certificate of Analysis (PDF, WeasyPrint): product, batch, every QC result against its frozen
criterion, who tested and reviewed, and the QP's certification with its signature manifestation.

Rules:
- the certificate shows the QC results as frozen in the batch's QC session (criteria text included),
  never the product's current template;
- it is a certificate only when the batch is certified for human use (a RELEASE, or a hold lifted
  back into a released state) and not blocked now; otherwise every page says why it is not valid
  (draft before release; on hold / rejected after release);
- hospital users get the certificate of their own released batches only;
- Arabic names are set right-to-left; numbers, criteria and batch numbers are wrapped in
  <bdi dir="ltr"> so "≥ 95%" is never mirrored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select

from app.batches import queries as batch_queries
from app.batches import service as batches
from app.batches.domain.states import BLOCKING_STATES, POST_RELEASE, label
from app.batches.models import Batch
from app.core.actor import Actor
from app.core.domain import DomainError
from app.core.extensions import db
from app.masterdata.models import Nuclide, Product, Site
from app.qc.models import BatchQcSession
from app.qc.outcome import value_text
from app.release import domain as rules
from app.release import review as release_review

STATUS_WORDS = {"PASS": "Pass", "FAIL": "Fail", "PENDING": "Pending", "NOT_APPLICABLE": "N/A"}


def coa_data(batch: Batch, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the certificate shows (also returned by the API as JSON)."""
    now = now or dt.datetime.now(dt.UTC)
    product = db.session.get(Product, batch.product_id)
    nuclide = db.session.get(Nuclide, product.nuclide_id)
    site = db.session.get(Site, batch.site_id)
    session = db.session.execute(
        select(BatchQcSession).where(BatchQcSession.batch_id == batch.id)
    ).scalar_one_or_none()
    results = []
    for r in session.results if session is not None else []:
        entered = r.value_version > 0
        results.append(
            {
                "test": r.test_name_en,
                "test_ar": r.test_name_ar,
                "method": r.method_en,
                "criteria": r.criteria_display_en,
                "range": r.criteria_range_text,
                "result": value_text(r) if entered else "—",
                "status": r.status,
                "status_label": STATUS_WORDS.get(r.status, r.status),
                "after_release": r.timing == "AFTER_RELEASE",
                "alert": bool(r.alert),
                "entered_by": r.entered_by_name,
            }
        )
    release = release_review.latest_release(batch.id)
    expiry = batches.batch_expires_at(batch)
    return {
        "generated_at": now,
        "site": {"name": site.name if site else "", "address": site.address if site else None},
        "product": {
            "code": product.code,
            "name": product.name_en,
            "name_ar": product.name_ar,
            "nuclide": nuclide.symbol if nuclide else None,
            "dose_form": (product.dose_form or "").replace("_", " ").capitalize(),
            "shelf_life": rules.duration_text(dt.timedelta(minutes=product.shelf_life_min or 0)),
        },
        "batch": {
            "id": batch.id,
            "batch_no": batch.batch_no,
            "status": batch.status,
            "status_label": label(batch.status),
            "production_end_at": batch.actual_end_at,
            "expiry_at": expiry,
            "activity_mbq": batch.actual_yield_mbq,
            "released_at": batch.released_at,
        },
        "qc": {
            "status": session.status if session else None,
            "template_version": session.template_version if session else None,
            "analyst": session.analyst_name if session else None,
            "completed_at": session.completed_at if session else None,
            "reviewer": session.reviewed_by_name if session else None,
            "reviewed_at": session.reviewed_at if session else None,
        },
        "results": results,
        "after_release_pending": [
            r["test"] for r in results if r["after_release"] and r["status"] == "PENDING"
        ],
        "release": release,
        "validity": validity(batch, release),
    }


def validity(batch: Batch, release: dict[str, Any] | None) -> dict[str, Any]:
    """Whether this document certifies the batch now, and if not, why (printed on every page)."""
    if batch.status in BLOCKING_STATES and release is not None:
        return {
            "valid": False,
            "watermark": "NOT VALID",
            "banner": f"NOT VALID — batch {label(batch.status).lower()} after release",
        }
    if batch.status in BLOCKING_STATES:
        return {
            "valid": False,
            "watermark": "NOT VALID",
            "banner": f"NOT VALID — batch {label(batch.status).lower()}",
        }
    if release is None or batch.status not in POST_RELEASE:
        return {"valid": False, "watermark": "DRAFT", "banner": "DRAFT — not certified by the QP"}
    return {"valid": True, "watermark": None, "banner": None}


def check_may_download(batch: Batch, actor: Actor) -> None:
    """Hospital users: their own batches, certified and not blocked; staff: any batch they can see."""
    viewer = batch_queries.viewer_for(actor)
    if viewer.restricted and not validity(batch, release_review.latest_release(batch.id))["valid"]:
        raise DomainError(
            "COA_NOT_AVAILABLE",
            "The certificate of analysis is available once the QP has released the batch.",
            409,
        )


def render_html(data: dict[str, Any]) -> str:
    return render_template("release/coa.html", coa=data, site_timezone=current_app.config["SITE_TIMEZONE"])


LAB = "Quality control laboratory"


def customer_release(release: dict[str, Any] | None) -> dict[str, Any] | None:
    """The certifying signature as a hospital sees it: the QP who signed (a certificate names its
    signer), without the QP's internal comment."""
    if release is None:
        return None
    signature = {**(release.get("signature") or {}), "comment": None}
    return {**release, "signature": signature, "comment": None}


def customer_copy(data: dict[str, Any]) -> dict[str, Any]:
    """The certificate for a hospital (issue 14): results and the QP's certification, without the
    analysts' and reviewers' names or the QP's internal comment."""
    results = [{**r, "entered_by": None} for r in data["results"]]
    qc = {**data["qc"], "analyst": LAB, "reviewer": LAB}
    return {**data, "results": results, "qc": qc, "release": customer_release(data["release"])}


def render_pdf(batch_id: int, actor: Actor) -> tuple[bytes, str]:
    """(PDF bytes, file name) for a batch this person may see."""
    from weasyprint import HTML

    batch = batch_queries.get_visible(batch_id, actor)
    check_may_download(batch, actor)
    data = coa_data(batch)
    if batch_queries.viewer_for(actor).restricted:
        data = customer_copy(data)
    pdf = HTML(string=render_html(data), base_url=current_app.root_path).write_pdf()
    return pdf, f"CoA-{batch.batch_no}.pdf"

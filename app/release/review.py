"""Reading for QP release: the queue, the review-by-exception panel, who took part in QC, the QP's
product rights, and the dispositions already signed (with their manifestation).

The rules (what is an exception, who may certify) are in `app.release.domain`; this module
gathers the facts from the database and shapes them for the page, the journey tab and the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.batches.domain import flow as batch_flow
from app.batches.domain.states import POST_RELEASE, label
from app.batches.models import Batch, BatchEvent, Deviation
from app.core.actor import Actor
from app.core.domain import DomainError
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc.models import BatchQcResult, BatchQcResultValue, BatchQcSession, OosCase
from app.release import domain as rules
from app.release.models import BatchDisposition, QpProductAuthorisation
from app.security import esign
from app.security.models import ESignature


# --- who took part in QC ----------------------------------------------------------------------
def qc_involvement(batch_id: int) -> rules.QcInvolvement:
    """Everyone who entered, corrected or reviewed a QC result of the batch (by user id)."""
    session = db.session.execute(
        select(BatchQcSession).where(BatchQcSession.batch_id == batch_id)
    ).scalar_one_or_none()
    if session is None:
        return rules.QcInvolvement()
    rows = db.session.execute(
        select(BatchQcResultValue.kind, BatchQcResultValue.entered_by_user_id)
        .join(BatchQcResult, BatchQcResult.id == BatchQcResultValue.result_id)
        .where(BatchQcResult.session_id == session.id)
        .distinct()
    ).all()
    entered = {u for k, u in rows if k in ("ENTRY", "NOT_APPLICABLE")}
    corrected = {u for k, u in rows if k == "CORRECTION"}
    reviewed = {u for k, u in rows if k == "VERDICT"}
    if session.analyst_user_id:
        entered.add(session.analyst_user_id)
    if session.reviewed_by_user_id:
        reviewed.add(session.reviewed_by_user_id)
    # Returning results for correction is a review too, though it leaves no reviewer on the session.
    reviewed |= set(
        db.session.execute(
            select(AuditLog.actor_user_id).where(
                AuditLog.entity_type == "BatchQcSession",
                AuditLog.entity_id == str(session.id),
                AuditLog.action.like("REVIEW_%"),
            )
        ).scalars()
    )
    return rules.QcInvolvement(
        entered=frozenset(u for u in entered if u is not None),
        corrected=frozenset(u for u in corrected if u is not None),
        reviewed=frozenset(u for u in reviewed if u is not None),
    )


def sod_enforced() -> bool:
    return bool(current_app.config.get("SOD_ENFORCED", True))


# --- release rights -----------------------------------------------------------------------------
def authorised_product_ids(user_id: int | None) -> set[int]:
    if user_id is None:
        return set()
    return set(
        db.session.execute(
            select(QpProductAuthorisation.product_id).where(
                QpProductAuthorisation.user_id == user_id, QpProductAuthorisation.revoked_at.is_(None)
            )
        ).scalars()
    )


def product_name(product: Product) -> str:
    return f"{product.code} ({product.name_en})"


def refusal_for(actor: Actor, batch: Batch, disposition: str, now: Any = None) -> Any:
    """The expiry, SoD or rights refusal this QP would get for this disposition at `now` (default:
    the clock; a seeded past disposition passes its story time), or None."""
    if disposition == rules.RELEASE:
        from app.batches import service as batches

        try:
            batches.check_not_expired(batch, "RELEASED", now)
        except DomainError as err:
            return err
    if sod_enforced():
        problem = rules.sod_refusal(actor.user_id, qc_involvement(batch.id), disposition)
        if problem:
            return problem
    product = db.session.get(Product, batch.product_id)
    return rules.authorisation_refusal(
        authorised_product_ids(actor.user_id), product.id, product_name(product), disposition
    )


# --- review by exception ----------------------------------------------------------------------
def _value_text(result: BatchQcResult) -> str | None:
    if result.status == "PENDING" and result.value_version == 0:
        return None
    from app.qc.outcome import value_text

    return value_text(result)


def review_facts(batch: Batch, now: dt.datetime | None = None) -> rules.ReviewFacts:
    now = now or dt.datetime.now(dt.UTC)
    session = db.session.execute(
        select(BatchQcSession).where(BatchQcSession.batch_id == batch.id)
    ).scalar_one_or_none()
    results: list[rules.ResultFact] = []
    if session is not None:
        corrections = {
            r.result_id: r
            for r in db.session.execute(
                select(
                    BatchQcResultValue.result_id,
                    func.count().label("n"),
                    func.array_agg(BatchQcResultValue.reason).label("reasons"),
                )
                .join(BatchQcResult, BatchQcResult.id == BatchQcResultValue.result_id)
                .where(BatchQcResult.session_id == session.id, BatchQcResultValue.kind == "CORRECTION")
                .group_by(BatchQcResultValue.result_id)
            )
        }
        for r in session.results:
            c = corrections.get(r.id)
            results.append(
                rules.ResultFact(
                    result_id=r.id,
                    test=r.test_name_en,
                    required=bool(r.is_required),
                    timing=r.timing,
                    status=r.status,
                    value=_value_text(r),
                    criteria=r.criteria_display_en,
                    fail_reason=r.fail_reason,
                    alert_reason=r.alert_reason if r.alert else None,
                    overridden=bool(r.overridden),
                    corrections=c.n if c else 0,
                    last_correction_reason=(c.reasons[-1] if c and c.reasons else None),
                )
            )
    deviations = (
        db.session.execute(select(Deviation).where(Deviation.batch_id == batch.id).order_by(Deviation.id))
        .scalars()
        .all()
    )
    oos = (
        db.session.execute(
            select(OosCase)
            .where(OosCase.batch_id == batch.id, OosCase.status != "CLOSED")
            .order_by(OosCase.id)
        )
        .scalars()
        .all()
    )
    product = db.session.get(Product, batch.product_id)
    return rules.ReviewFacts(
        now=now,
        results=tuple(results),
        session_status=session.status if session is not None else None,
        session_warning=session.warning if session is not None else None,
        open_deviations=tuple(_deviation_text(d) for d in deviations if d.status == "OPEN"),
        closed_deviations=tuple(_deviation_text(d) for d in deviations if d.status != "OPEN"),
        open_oos=tuple(f"OOS-{o.id}: {o.reason}" for o in oos),
        production_end_at=batch.actual_end_at,
        shelf_life_min=product.shelf_life_min if product else None,
    )


def _deviation_text(d: Deviation) -> str:
    text = f"Opened by {d.opened_by_name}: {d.reason}"
    if d.closing_note:
        text += f" — closed by {d.closed_by_name}: {d.closing_note}"
    return text


def findings(batch: Batch, now: dt.datetime | None = None) -> list[rules.Finding]:
    from app.batches.ebr import review_findings  # the executed batch record's exceptions (issue 12)

    ebr = [
        rules.Finding(f["kind"], f["severity"], f["title"], f["detail"]) for f in review_findings(batch.id)
    ]
    return sorted(rules.findings(review_facts(batch, now)) + ebr, key=lambda x: x.severity != rules.EXCEPTION)


# --- signed dispositions ------------------------------------------------------------------------
def dispositions(batch_id: int) -> list[dict[str, Any]]:
    """Every disposition of the batch, oldest first, with the signature manifestation."""
    rows = db.session.execute(
        select(BatchDisposition, ESignature)
        .join(ESignature, ESignature.id == BatchDisposition.signature_id)
        .where(BatchDisposition.batch_id == batch_id)
        .order_by(BatchDisposition.decided_at, BatchDisposition.id)
    ).all()
    return [disposition_dict(d, sig) for d, sig in rows]


def disposition_dict(d: BatchDisposition, sig: ESignature) -> dict[str, Any]:
    return {
        "id": d.id,
        "disposition": d.disposition,
        "label": rules.text(d.disposition).label,
        "from_status": d.from_status,
        "to_status": d.to_status,
        "to_status_label": label(d.to_status),
        "decided_by": d.decided_by_name,
        "decided_at": d.decided_at,
        "comment": d.comment,
        "exceptions_count": d.exceptions_count,
        "batch_event_id": d.batch_event_id,
        "signature": esign.manifestation(sig),
    }


def latest_release(batch_id: int) -> dict[str, Any] | None:
    """The signature that certified the batch for human use (the last RELEASE or re-release)."""
    certifying = [d for d in dispositions(batch_id) if d["to_status"] in POST_RELEASE]
    return certifying[-1] if certifying else None


# --- the panel ----------------------------------------------------------------------------------
def available(batch: Batch, actor: Actor) -> list[dict[str, Any]]:
    """The dispositions this QP may sign now, each with its meaning, impact and any refusal."""
    out = []
    for disposition in rules.DISPOSITIONS:
        try:
            dest = rules.target_status(disposition, batch.status, batch.status_before_exception)
        except DomainError:  # "not from this state": no button
            continue
        row = batch_flow.find(batch.status, dest)
        if row is None or not any(r in row.roles for r in actor.roles):
            continue
        texts = rules.text_for(disposition, batch.status_before_exception)
        problem = refusal_for(actor, batch, disposition)
        out.append(
            {
                "disposition": disposition,
                "to_status": dest,
                "to_status_label": label(dest),
                "label": texts.label,
                "meaning": texts.meaning,
                "impact": texts.impact,
                "danger": texts.danger,
                "comment_required": disposition in rules.NEEDS_COMMENT,
                "refusal": None
                if problem is None
                else {"code": problem.code, "userMessage": problem.user_message},
            }
        )
    return out


def entered_status_at(batch_id: int, status: str) -> dt.datetime | None:
    return db.session.execute(
        select(func.max(BatchEvent.occurred_at)).where(
            BatchEvent.batch_id == batch_id, BatchEvent.to_status == status
        )
    ).scalar()


def review(batch: Batch, actor: Actor, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the release panel and the journey's Release tab show for one batch."""
    now = now or dt.datetime.now(dt.UTC)
    facts = review_facts(batch, now)
    items = rules.findings(facts)
    product = db.session.get(Product, batch.product_id)
    window = rules.release_window(facts)
    since = entered_status_at(batch.id, batch.status)
    return {
        "batch": {
            "id": batch.id,
            "batch_no": batch.batch_no,
            "status": batch.status,
            "status_label": label(batch.status),
            "status_before_exception": batch.status_before_exception,
            "qp_disposition": batch.qp_disposition,
            "version": batch.version,
            "production_end_at": batch.actual_end_at,
            "released_at": batch.released_at,
            "actual_yield_mbq": batch.actual_yield_mbq,
        },
        "product": {
            "id": product.id,
            "code": product.code,
            "name": product.name_en,
            "name_ar": product.name_ar,
            "shelf_life_min": product.shelf_life_min,
        },
        "in_status_since": since,
        "waiting": rules.duration_text(now - since) if since else None,
        "release_due_by": window[0] if window else None,
        "shelf_life_end": window[1] if window else None,
        "expired": window is not None and now >= window[1],
        "qc_session_status": facts.session_status,
        "findings": [f.as_dict() for f in items],
        "exceptions_count": rules.exception_count(items),
        "notices_count": len(items) - rules.exception_count(items),
        "results": [
            {
                "test": r.test,
                "timing": r.timing,
                "status": r.status,
                "value": r.value,
                "criteria": r.criteria,
            }
            for r in facts.results
        ],
        "available": available(batch, actor),
        "dispositions": dispositions(batch.id),
        "in_queue": batch.status in rules.REVIEW_STATES,
    }


def queue(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Batches waiting for the QP (QP_REVIEW, ON_HOLD) and ready for review (QC_PASSED), oldest first."""
    now = now or dt.datetime.now(dt.UTC)
    states = (*rules.REVIEW_STATES, *rules.READY_STATES)
    since = (
        select(func.max(BatchEvent.occurred_at))
        .where(BatchEvent.batch_id == Batch.id, BatchEvent.to_status == Batch.status)
        .correlate(Batch)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Batch, Product, since.label("since"))
        .join(Product, Product.id == Batch.product_id)
        .where(Batch.status.in_(states))
        .order_by(since.asc().nulls_last(), Batch.id)
    ).all()
    out = []
    for batch, product, at in rows:
        items = rules.findings(review_facts(batch, now))
        out.append(
            {
                "id": batch.id,
                "batch_no": batch.batch_no,
                "status": batch.status,
                "status_label": label(batch.status),
                "status_before_exception": batch.status_before_exception,
                "status_before_exception_label": label(batch.status_before_exception)
                if batch.status_before_exception
                else None,
                "product": {
                    "id": product.id,
                    "code": product.code,
                    "name": product.name_en,
                    "name_ar": product.name_ar,
                },
                "production_end_at": batch.actual_end_at,
                "in_status_since": at,
                "waiting": rules.duration_text(now - at) if at else None,
                "exceptions_count": rules.exception_count(items),
                "ready_for_review": batch.status in rules.READY_STATES,
            }
        )
    return out

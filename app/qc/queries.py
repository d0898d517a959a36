"""Read models of a batch's QC session for the API and the QC page (no writes here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.audit.service import jsonable
from app.core.actor import Actor
from app.core.extensions import db
from app.core.web import fmt_local
from app.qc import attachments as qc_attachments
from app.qc import samples as qc_samples
from app.qc import service as qc
from app.qc.domain import samples as sample_rules
from app.qc.domain import session_flow as flow
from app.qc.domain.rules import STATUS_LABELS, fmt_number
from app.qc.models import BatchQcResult, BatchQcResultValue, BatchQcSession, OosCase
from app.qc.outcome import value_text


def number_text(result: BatchQcResult) -> str | None:
    """The value as entered; a computed one (the half-life from two readings, stored to 6 decimals)
    at the test's decimals, the figure the verdict compared (109.8, not 109.769666)."""
    if result.numeric_value is None:
        return None
    if result.readings and result.decimal_places is not None:
        return fmt_number(result.numeric_value, result.decimal_places)
    return fmt_number(result.numeric_value)


def sample_text(sample: Any) -> str:
    """'Endotoxin sample #12, taken 03:20 AST' (the name analysts and reports use)."""
    return f"{qc_samples.SAMPLE_LABELS[sample.sample_type]} sample #{sample.id}, taken {fmt_local(sample.taken_at)}"


def result_dict(
    result: BatchQcResult, attachments: list | None = None, batch_id: int | None = None
) -> dict[str, Any]:
    out = {
        "id": result.id,
        "display_order": result.display_order,
        "test_code": result.test_code,
        "test_name_en": result.test_name_en,
        "test_name_ar": result.test_name_ar,
        "method_en": result.method_en,
        "method_ar": result.method_ar,
        "criteria_display_en": result.criteria_display_en,
        "criteria_display_ar": result.criteria_display_ar,
        "criteria_range_text": result.criteria_range_text,
        "result_type": result.result_type,
        "options": list(result.options),
        "unit": result.unit,
        "decimal_places": result.decimal_places,
        "is_required": result.is_required,
        "attachment_required": result.attachment_required,
        "timing": result.timing,
        "allow_manual_pass_fail": result.allow_manual_pass_fail,
        "numeric_value": number_text(result),
        "text_value": result.text_value,
        "pass_fail_value": result.pass_fail_value,
        "display_value": value_text(result) if result.value_version else None,
        "status": result.status,
        "status_label": STATUS_LABELS[result.status],
        "fail_reason": result.fail_reason,
        "alert": result.alert,
        "alert_reason": result.alert_reason,
        "overridden": result.overridden,
        "needs_verdict": result.needs_verdict,
        "value_version": result.value_version,
        "readings": result.readings,  # the half-life calculator's two timed readings, when used
        "entered_by": result.entered_by_name,
        "entered_at": jsonable(result.entered_at),
        "attachments_count": result.attachments_count,
        # the sample it was measured on (2-cyclotron 1.4) and the kind of sample the test needs
        "sample_id": result.sample_id,
        "sample": sample_text(result.sample) if result.sample_id else None,
        "sample_type_needed": sample_rules.sample_type_for(result.test_code),
    }
    if attachments is not None and batch_id is not None:
        out["attachments"] = [qc_attachments.as_dict(a, batch_id) for a in attachments]
    return out


def allowed_for(session: BatchQcSession, batch: Any, actor: Actor, perms: set[str]) -> list[str]:
    """Session actions this user may take now: the machine's answer, narrowed by role and SoD."""
    may_review = "can_review" in perms and actor.user_id not in (
        qc.entered_by(session) | {session.analyst_user_id}
    )
    out = []
    for t in flow.allowed_triggers(session.status, qc.facts(session)):
        if (t in ("submit_for_review", "complete") and "can_enter" in perms) or (
            t in ("approve", "reject", "return_for_correction") and may_review
        ):
            out.append(t)
    return out


def can_enter_now(session: BatchQcSession, batch: Any) -> bool:
    return batch.status in qc.QC_ENTRY_BATCH_STATES and session.status in flow.OPEN_STATES


def session_dict(batch: Any, session: BatchQcSession, actor: Actor, perms: set[str]) -> dict[str, Any]:
    f = qc.facts(session)
    attachments = qc_attachments.attachments_of([r.id for r in session.results])
    total = len(session.results)
    return {
        "id": session.id,
        "batch_id": batch.id,
        "batch_no": batch.batch_no,
        "batch_status": batch.status,
        "product": {"id": batch.product.id, "code": batch.product.code, "name_en": batch.product.name_en},
        "template_id": session.template_id,
        "template_version": session.template_version,
        "status": session.status,
        "status_label": flow.STATUS_LABELS[session.status],
        "review_required": session.review_required,
        "warning": session.warning,
        "started_at": jsonable(session.started_at),
        "completed_at": jsonable(session.completed_at),
        "analyst": session.analyst_name,
        "reviewed_by": session.reviewed_by_name,
        "reviewed_at": jsonable(session.reviewed_at),
        "review_decision": session.review_decision,
        "review_note": session.review_note,
        "progress": {
            "completed": f.completed_count,
            "total": total,
            "text": f"{f.completed_count}/{total} tests completed",
            "required_missing": [r.name for r in f.undecided],
            "failed": [r.name for r in f.failed],
            "after_release_pending": [r.name for r in f.after_release_pending],
            "attachments_missing": [r.name for r in f.missing_attachments],
        },
        "can_enter_results": can_enter_now(session, batch) and "can_enter" in perms,
        "allowed_actions": allowed_for(session, batch, actor, perms),
        "results": [result_dict(r, attachments.get(r.id, []), batch.id) for r in session.results],
        "oos_cases": [oos_dict(c) for c in oos_cases(batch.id)],
        "samples": [qc_samples.as_dict(x) for x in qc_samples.samples(batch.id)],
    }


def oos_cases(batch_id: int) -> list[OosCase]:
    return list(
        db.session.execute(select(OosCase).where(OosCase.batch_id == batch_id).order_by(OosCase.id)).scalars()
    )


def oos_dict(case: OosCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "result_id": case.result_id,
        "reason": case.reason,
        "status": case.status,
        "opened_at": jsonable(case.opened_at),
        "opened_by": case.opened_by_name,
    }


def history(session: BatchQcSession) -> list[dict[str, Any]]:
    """Every value recorded in the session, newest first (the page's timeline and row history)."""
    names = {r.id: r for r in session.results}
    rows = db.session.execute(
        select(BatchQcResultValue)
        .where(BatchQcResultValue.result_id.in_(list(names) or [0]))
        .order_by(BatchQcResultValue.entered_at.desc(), BatchQcResultValue.id.desc())
    ).scalars()
    out = []
    for v in rows:
        r = names[v.result_id]
        shown = _value_words(r, v)
        out.append(
            {
                "result_id": v.result_id,
                "test_name_en": r.test_name_en,
                "version": v.version,
                "kind": v.kind,
                "value": shown,
                "status": v.status,
                "status_label": STATUS_LABELS[v.status],
                "fail_reason": v.fail_reason,
                "alert_reason": v.alert_reason,
                "overridden": v.overridden,
                "reason": v.reason,
                "entered_by": v.entered_by_name,
                "entered_by_role": v.entered_by_role,
                "entered_at": jsonable(v.entered_at),
                "entered_at_dt": v.entered_at,
            }
        )
    return out


def _value_words(result: BatchQcResult, v: BatchQcResultValue) -> str:
    from app.qc.domain.rules import display_value

    if v.kind == "NOT_APPLICABLE":
        return "N/A"
    return display_value(
        result.result_type,
        v.numeric_value,
        v.text_value,
        v.pass_fail_value,
        result.unit,
        result.decimal_places,
    )

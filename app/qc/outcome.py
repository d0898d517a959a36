"""What follows a QC result or a session decision, inside the caller's transaction.

Rules enforced here:
- the first result starts the session and moves a QC_PENDING batch to QC_IN_PROGRESS;
- session QC_PASSED -> batch QC_PASSED (the batch's own guard re-reads the session);
- session QC_FAILED -> batch FAILED_QC, or ON_HOLD when QC_FAIL_BATCH_STATUS = "ON_HOLD"; an OOS
  case is opened per failed required result (one for the whole session when a reviewer rejects
  without a failed result) and QC Manager and QP are notified;
- an after-release result that fails re-opens the question for the QP: session QC_FAILED, OOS case,
  notification; the batch status is the QP's call (hold / recall), not changed here;
- alert-limit results pass but are flagged on the journey and notified to the QC Manager;
- corrections and out-of-specification results appear on the batch journey as QC events.
Nothing here commits: the calling service does, once.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.core import clock
from app.core.actor import Actor
from app.core.extensions import db
from app.notifications.service import notify, notify_event
from app.qc.domain import session_flow as flow
from app.qc.domain.rules import display_value
from app.qc.models import BatchQcResult, BatchQcSession, OosCase


def _facts(session: BatchQcSession) -> flow.SessionFacts:
    from app.qc.service import facts

    return facts(session)


def _event(
    batch: Any, title: str, actor: Actor, *, note: str | None = None, metadata: dict | None = None
) -> None:
    from app.batches import service as batches

    batches.record_event(batch, "QC", title, actor, note=note, metadata=metadata)


def _move_batch(batch: Any, to_status: str, actor: Actor, *, note: str | None = None) -> None:
    """The batch follows its QC session, as a consequence of the QC action just taken.

    The event names the QC user in their own role when the batch table lets that role make the
    move (QC Analyst starts QC, the reviewer passes or fails it); otherwise (ON_HOLD is the QP's
    move) it is recorded as an automatic System consequence.
    """
    from app.batches import service as batches
    from app.batches.domain import flow as batch_flow

    db.session.flush()  # the batch guard reads the session status from the database
    row = batch_flow.find(batch.status, to_status)
    own_role = row is not None and any(r in row.roles for r in actor.roles)
    batches.apply_transition(batch, to_status, actor, note, system=not own_role)


def fail_target() -> str:
    target = str(current_app.config.get("QC_FAIL_BATCH_STATUS", "FAILED_QC")).upper()
    return target if target in ("FAILED_QC", "ON_HOLD") else "FAILED_QC"


def value_text(result: BatchQcResult) -> str:
    return display_value(
        result.result_type,
        result.numeric_value,
        result.text_value,
        result.pass_fail_value,
        result.unit,
        result.decimal_places,
    )


# --- after one result -------------------------------------------------------------------------------


def after_result(batch: Any, session: BatchQcSession, result: BatchQcResult, kind: str, actor: Actor) -> None:
    db.session.flush()
    if session.status == "NOT_STARTED":
        session.status = flow.fire(session.status, "start", _facts(session))
        session.started_at = clock.stamp()
        session.analyst_user_id = actor.user_id
        session.analyst_name = actor.printed_name
        audit.record("BatchQcSession", session.id, "START", after={"status": session.status}, actor=actor)
        if batch.status == "QC_PENDING":
            _move_batch(
                batch, "QC_IN_PROGRESS", actor, note=f"First QC result entered: {result.test_name_en}"
            )
    meta = {
        "result_id": result.id,
        "test": result.test_code,
        "value": value_text(result),
        "status": result.status,
    }
    if kind == "CORRECTION":
        last_reason = _last_reason(result)
        _event(
            batch,
            f"QC Result Corrected: {result.test_name_en}",
            actor,
            note=f"Now {value_text(result)} ({result.status.title()}). Reason: {last_reason}",
            metadata=meta,
        )
    if result.status == "FAIL" and kind != "NOT_APPLICABLE":
        _event(
            batch,
            f"Out-of-Specification Result: {result.test_name_en}",
            actor,
            note=result.fail_reason,
            metadata=meta,
        )
    elif result.alert and result.alert_reason:
        _event(batch, f"QC Alert: {result.test_name_en}", actor, note=result.alert_reason, metadata=meta)
        notify(
            "QC_ALERT",
            f"QC alert on {batch.batch_no}: {result.test_name_en}",
            f"{result.test_name_en} = {value_text(result)} passes its criterion ({result.criteria_display_en}) "
            f"but is flagged: {result.alert_reason}. Entered by {actor.printed_name}.",
            roles=("QC Manager",),
            entity_type="Batch",
            entity_id=batch.id,
        )
    if result.timing == "AFTER_RELEASE" and session.status in flow.PASSED_STATES:
        _after_release_progress(batch, session, result, actor)


def _last_reason(result: BatchQcResult) -> str:
    from app.qc.models import BatchQcResultValue

    return (
        db.session.execute(
            select(BatchQcResultValue.reason)
            .where(BatchQcResultValue.result_id == result.id)
            .order_by(BatchQcResultValue.version.desc())
            .limit(1)
        ).scalar_one_or_none()
        or "—"
    )


def _after_release_progress(batch: Any, session: BatchQcSession, result: BatchQcResult, actor: Actor) -> None:
    f = _facts(session)
    if flow.any_after_release_fail(f):
        session.status = flow.fire(session.status, "fail_after_release", f)
        audit.record(
            "BatchQcSession",
            session.id,
            "AFTER_RELEASE_FAIL",
            after={"status": session.status},
            reason=result.fail_reason,
            actor=actor,
        )
        _open_oos(batch, session, [result], actor, f"After-release test failed: {result.fail_reason}")
        _event(batch, f"After-release QC Failed: {result.test_name_en}", actor, note=result.fail_reason)
        # The batch may already be with patients: logistics opens the recall (issue 11), same transaction.
        from app.batches import extensions_hooks

        extensions_hooks.after_release_failed(batch, f"{result.test_name_en}: {result.fail_reason}", actor)
        notify_event(  # the batch may already be with patients: the QP decides on hold or recall
            "OOS_OPENED",
            f"/batches/{batch.id}",
            {
                "batch_no": batch.batch_no,
                "product": batch.product.code if batch.product is not None else "",
                "test": f"{result.test_name_en} (after release)",
                "value": value_text(result),
                "criterion": result.criteria_display_en,
            },
            entity_type="Batch",
            entity_id=batch.id,
        )
    elif session.status == "QC_PASSED" and flow.after_release_done(f):
        _close(batch, session, actor)


def _close(batch: Any, session: BatchQcSession, actor: Actor) -> None:
    session.status = flow.fire(session.status, "close", _facts(session))
    session.closed_at = clock.stamp()
    audit.record("BatchQcSession", session.id, "CLOSE", after={"status": session.status}, actor=actor)
    _event(batch, "After-release QC Complete", actor, note="All after-release tests passed.")


# --- after a session decision -----------------------------------------------------------------------


def after_session_change(
    batch: Any, session: BatchQcSession, trigger: str, actor: Actor, *, note: str | None = None
) -> None:
    f = _facts(session)
    done = f"{f.completed_count}/{len(f.results)} tests completed"
    if session.status == "WAITING_REVIEW":
        _event(batch, "QC Results Submitted", actor, note=note or done)
        notify(
            "QC_REVIEW_REQUESTED",
            f"QC results of {batch.batch_no} are ready for review",
            f"{actor.printed_name} submitted the QC results of {batch.batch_no} ({done}). A reviewer who did "
            "not enter any of them must approve or reject.",
            roles=("QC Reviewer",),
            entity_type="Batch",
            entity_id=batch.id,
        )
    elif session.status == "IN_PROGRESS" and trigger == "return_for_correction":
        _event(batch, "QC Results Returned for Correction", actor, note=note)
        if session.analyst_user_id:
            notify(
                "QC_RETURNED",
                f"QC results of {batch.batch_no} returned for correction",
                f"{actor.printed_name} returned the results: {note}",
                user_ids=(session.analyst_user_id,),
                entity_type="Batch",
                entity_id=batch.id,
            )
    elif session.status == "QC_PASSED":
        _passed(batch, session, actor, f)
    elif session.status == "QC_FAILED":
        _failed(batch, session, actor, f, note)


def _passed(batch: Any, session: BatchQcSession, actor: Actor, f: flow.SessionFacts) -> None:
    pending = f.after_release_pending
    suffix = f" After-release tests pending: {', '.join(r.name for r in pending)}." if pending else ""
    if batch.status == "QC_IN_PROGRESS":
        _move_batch(batch, "QC_PASSED", actor, note="All required before-release QC tests passed." + suffix)
    else:
        _event(batch, "QC Session Passed", actor, note="Batch status unchanged (not in QC)." + suffix)
    notify(
        "QC_PASSED",
        f"QC passed: {batch.batch_no} is ready for QP review",
        f"QC of {batch.batch_no} passed (decided by {actor.printed_name}).{suffix}",
        roles=("QP",),
        entity_type="Batch",
        entity_id=batch.id,
    )
    if any(r.timing == "AFTER_RELEASE" for r in f.results) and flow.after_release_done(f):
        _close(batch, session, actor)


def _failed(
    batch: Any, session: BatchQcSession, actor: Actor, f: flow.SessionFacts, note: str | None
) -> None:
    failed = [
        r for r in session.results if r.status == "FAIL" and r.is_required and r.timing == "BEFORE_RELEASE"
    ]
    reasons = "; ".join(f"{r.test_name_en}: {r.fail_reason}" for r in failed)
    summary = reasons or f"Rejected by the reviewer: {note}"
    if note and reasons:
        summary = f"{reasons}. Reviewer: {note}"
    _open_oos(batch, session, failed, actor, summary)
    target = fail_target()
    if batch.status == "QC_IN_PROGRESS":
        _move_batch(batch, target, actor, note=f"QC failed — {summary}"[:2000])
    else:
        _event(batch, "QC Session Failed", actor, note=summary)
    notify_event(
        "QC_FAILED",
        f"/batches/{batch.id}",
        {
            "batch_no": batch.batch_no,
            "product": batch.product.code if batch.product is not None else "",
            "summary": summary,
            "outcome": "on hold" if target == "ON_HOLD" else "blocked as Failed QC",
            "actor": actor.printed_name,
        },
        entity_type="Batch",
        entity_id=batch.id,
    )


def _open_oos(
    batch: Any, session: BatchQcSession, results: list[BatchQcResult], actor: Actor, reason: str
) -> None:
    targets: list[BatchQcResult | None] = list(results) or [None]
    for result in targets:
        if (
            result is not None
            and db.session.execute(select(OosCase.id).where(OosCase.result_id == result.id)).first()
        ):
            continue
        case = OosCase(
            batch_id=batch.id,
            session_id=session.id,
            result_id=result.id if result is not None else None,
            reason=(
                f"{result.test_name_en} = {value_text(result)}: {result.fail_reason}" if result else reason
            )[:2000],
            opened_by_user_id=actor.user_id,
            opened_by_name=actor.printed_name,
            opened_at=clock.stamp(),
        )
        db.session.add(case)
        db.session.flush()
        audit.record(
            "OosCase", case.id, "OPEN", after={"batch_id": batch.id, "reason": case.reason}, actor=actor
        )
        _event(batch, "OOS Case Opened", actor, note=case.reason, metadata={"oos_case_id": case.id})

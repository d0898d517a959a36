"""Batch QC: the session snapshotted at batch creation, result entry, corrections, submit, review.

Rules enforced here (pages and API alike):
- creating a batch snapshots the product's ACTIVE template into a session and its result rows
  (criteria text frozen); without an active template the batch is still made, warned, and its
  session can never pass;
- a result is judged by `app.qc.domain.rules` from its frozen criterion; changing a recorded value
  is a correction: it needs a reason and adds a new version of the value (the old ones stay);
- before-release results are entered while the batch is in QC (QC_PENDING / QC_IN_PROGRESS) and
  the session is open; after-release results (sterility, radionuclidic purity) any time after
  production, without blocking QC;
- the session moves only through `app.qc.domain.session_flow`; the reviewer must not have entered
  any result of the session (segregation of duties);
- the batch follows the session in the same transaction (`app.qc.outcome`);
- every change writes audit rows; each action commits once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.core import clock
from app.core.actor import Actor, current_actor
from app.core.domain import DomainError, NotFound
from app.core.extensions import db
from app.core.lengths import NOTE_MAX, text_input
from app.core.tracing import current_trace_id
from app.qc import template_queries as qc_template_queries
from app.qc.domain import samples as sample_rules
from app.qc.domain import session_flow as flow
from app.qc.domain.rules import Entry, ResultSpec, evaluate, to_decimal
from app.qc.models import BatchQcResult, BatchQcResultValue, BatchQcSample, BatchQcSession, ProductQcTemplate
from app.qc.tx import atomic

QC_ENTRY_BATCH_STATES = ("QC_PENDING", "QC_IN_PROGRESS")
# After-release results may arrive once production is over, whatever happened to the batch since.
NOT_YET_PRODUCED = ("PLANNED", "SCHEDULED", "IN_PRODUCTION", "PRODUCTION_COMPLETE", "CANCELLED")
REVIEW_DECISIONS = ("APPROVE", "REJECT", "RETURN")
ENTRY_ROLES = ("QC Analyst", "QC Manager")
REVIEW_ROLES = ("QC Reviewer", "QC Manager")


def _batch_model():
    from app.batches.models import Batch

    return Batch


# --- the seam used by batch creation and the batch QC guard -------------------------------------------


def create_session_for_batch(batch: Any, *, actor: Actor | None = None) -> BatchQcSession:
    """Snapshot the product's ACTIVE template into the batch's QC session (caller's transaction).

    No active template: the session is made empty with a warning, a QC event tells the journey,
    and the session can never pass (database check as well as the session rules).
    """
    actor = actor or current_actor()
    if batch.id is None:
        db.session.flush()
    product = batch.product
    template = qc_template_queries.active_template(batch.product_id)
    session = BatchQcSession(
        batch_id=batch.id,
        product_id=batch.product_id,
        review_required=bool(product.qc_review_required) if product is not None else True,
    )
    if template is None:
        session.warning = (
            f"No active QC template for {product.code if product else 'this product'} when the batch was "
            "created: this batch has no QC tests and cannot pass QC until a QC Manager attaches one."
        )
    else:
        _snapshot(session, template)
    db.session.add(session)
    db.session.flush()
    audit.record(
        "BatchQcSession",
        session.id,
        "CREATE",
        after={
            "batch_id": batch.id,
            "template_id": session.template_id,
            "template_version": session.template_version,
            "tests": [r.test_code for r in session.results],
            "review_required": session.review_required,
            "warning": session.warning,
        },
        actor=actor,
    )
    if template is None:
        _event(batch, "No Active QC Template", actor, note=session.warning)
    return session


def session_status_for_batch(batch: Any) -> str | None:
    """The status the batch's QC gate reads, or None without a session."""
    return session_statuses_for_batches([batch.id]).get(batch.id)


def session_statuses_for_batches(batch_ids: list[int]) -> dict[int, str]:
    """{batch id: the status its QC gate reads} in one query; batches without a session are absent.

    COMPLETED is a QC_PASSED session whose after-release tests are in too, so it reads QC_PASSED.
    """
    if not batch_ids:
        return {}
    rows = db.session.execute(
        select(BatchQcSession.batch_id, BatchQcSession.status).where(BatchQcSession.batch_id.in_(batch_ids))
    )
    return {bid: ("QC_PASSED" if status in flow.PASSED_STATES else status) for bid, status in rows}


def _snapshot(session: BatchQcSession, template: ProductQcTemplate) -> None:
    session.template_id = template.id
    session.template_version = template.version
    for line in template.lines:
        test = line.test_definition
        rule = line.spec_rule
        frozen = qc_template_queries.line_rule(line)  # with the product's max volume V as it is today
        en, ar, rng = qc_template_queries.line_criteria(line)
        session.results.append(
            BatchQcResult(
                test_definition_id=test.id,
                template_line_id=line.id,
                display_order=line.display_order,
                test_code=test.code,
                test_name_en=test.name_en,
                test_name_ar=test.name_ar,
                method_en=test.method_en,
                method_ar=test.method_ar,
                criteria_display_en=en,
                criteria_display_ar=ar,
                criteria_range_text=rng,
                result_type=test.result_type,
                options_text=test.options_text,
                unit=test.unit,
                decimal_places=test.decimal_places,
                rule_type=rule.rule_type if rule else None,
                min_value=rule.min_value if rule else None,
                max_value=rule.max_value if rule else None,
                target_value=rule.target_value if rule else None,
                tolerance=rule.tolerance if rule else None,
                alert_min=rule.alert_min if rule else None,
                alert_max=rule.alert_max if rule else None,
                rule_text_en=rule.text_criteria_en if rule else None,
                rule_text_ar=rule.text_criteria_ar if rule else None,
                fail_if_outside=rule.fail_if_outside if rule else True,
                per_volume=bool(rule.per_volume) if rule else False,
                volume_ml=frozen.volume_ml if frozen is not None and frozen.per_volume else None,
                is_required=line.is_required,
                attachment_required=line.attachment_required,
                timing=line.timing,
                allow_manual_pass_fail=line.allow_manual_pass_fail,
                default_result_value=line.default_result_value,
            )
        )


@atomic
def attach_active_template(batch_id: int, *, actor: Actor | None = None) -> BatchQcSession:
    """Give a batch made without a template the product's current ACTIVE one (QC Manager)."""
    actor = actor or current_actor()
    if not actor.has_role("QC Manager"):
        raise DomainError("FORBIDDEN", "Only a QC Manager can attach a QC template to a batch.", 403)
    batch, session = lock_session(batch_id)
    if session.template_id is not None:
        raise DomainError("QC_TEMPLATE_ATTACHED", "This batch already has its QC tests.", 409)
    template = qc_template_queries.active_template(batch.product_id)
    if template is None:
        raise DomainError(
            "QC_NO_TEMPLATE",
            f"{batch.product.code} still has no active QC template. Activate one first.",
            409,
        )
    _snapshot(session, template)
    session.warning = None
    db.session.flush()
    audit.record(
        "BatchQcSession",
        session.id,
        "ATTACH_TEMPLATE",
        after={"template_id": template.id, "template_version": template.version},
        actor=actor,
    )
    _event(batch, f"QC Template v{template.version} Attached", actor)
    db.session.commit()
    return session


# --- loading ---------------------------------------------------------------------------------------------


def get_session(batch_id: int) -> tuple[Any, BatchQcSession]:
    batch = db.session.get(_batch_model(), batch_id)
    if batch is None:
        raise NotFound("batch")
    session = db.session.execute(
        select(BatchQcSession).where(BatchQcSession.batch_id == batch_id)
    ).scalar_one_or_none()
    if session is None:
        raise NotFound("QC session")
    return batch, session


def lock_session(batch_id: int) -> tuple[Any, BatchQcSession]:
    """Batch and session, locked for this transaction (concurrent entries queue, never interleave)."""
    batch = db.session.get(_batch_model(), batch_id, with_for_update=True, populate_existing=True)
    if batch is None:
        raise NotFound("batch")
    session = db.session.execute(
        select(BatchQcSession).where(BatchQcSession.batch_id == batch_id).with_for_update()
    ).scalar_one_or_none()
    if session is None:
        raise NotFound("QC session")
    return batch, session


def facts(session: BatchQcSession) -> flow.SessionFacts:
    return flow.SessionFacts(
        results=tuple(
            flow.ResultFact(
                name=r.test_name_en,
                required=r.is_required,
                timing=r.timing,
                status=r.status,
                entered=r.value_version > 0,
                needs_verdict=r.needs_verdict,
                attachment_missing=r.attachment_required and r.attachments_count == 0,
            )
            for r in session.results
        ),
        review_required=session.review_required,
        has_template=session.template_id is not None,
    )


def spec_of(result: BatchQcResult) -> ResultSpec:
    return ResultSpec(
        result_type=result.result_type,
        rule=result.rule(),
        unit=result.unit,
        decimal_places=result.decimal_places,
        allow_manual_pass_fail=result.allow_manual_pass_fail,
        options=result.options,
    )


# --- entering results ----------------------------------------------------------------------------------


def _entry_from(data: Mapping[str, Any], result: BatchQcResult) -> Entry:
    if not isinstance(data, Mapping):
        raise DomainError("VALIDATION_ERROR", "Send the result as an object.", 422)
    numeric = to_decimal(data.get("numeric_value")) if "numeric_value" in data else result.numeric_value
    text = data.get("text_value", result.text_value)
    text = text_input(
        text, "text_value", limit=500, numbers_as_text=True
    )  # too long: 422, never cut (issue 14)
    choice = data.get("pass_fail_value", result.pass_fail_value)
    choice = None if choice in (None, "") else str(choice).strip().upper()
    not_applicable = bool(data.get("not_applicable"))
    reason = data.get("reason")
    reason = text_input(reason, "reason", limit=NOTE_MAX)
    if result.result_type == "PASS_FAIL" and (
        data.get("numeric_value") not in (None, "") or data.get("text_value")
    ):
        raise DomainError(
            "VALIDATION_ERROR",
            f"{result.test_name_en} is a Pass/Fail test: choose Pass or Fail.",
            422,
            {"fields": {"pass_fail_value": "required"}},
        )
    if result.result_type in ("TEXT", "OPTION_LIST") and data.get("numeric_value") not in (None, ""):
        raise DomainError(
            "VALIDATION_ERROR",
            f"{result.test_name_en} takes a text result, not a number.",
            422,
            {"fields": {"text_value": "required"}},
        )
    if result.result_type == "NUMERIC" and data.get("text_value"):
        raise DomainError(
            "VALIDATION_ERROR",
            f"{result.test_name_en} takes a number.",
            422,
            {"fields": {"numeric_value": "required"}},
        )
    return Entry(
        numeric_value=numeric,
        text_value=text,
        pass_fail_value=choice,
        not_applicable=not_applicable,
        reason=reason,
    )


def _with_half_life(data: Mapping[str, Any], result: BatchQcResult) -> tuple[Mapping[str, Any], Any]:
    """A half-life identity result given as two timed readings: the value becomes the computed T½ in
    the test's unit and the readings are kept with it. `readings`: [{"at": ISO time, "mbq": number}] x 2
    (a time without offset is site-local; one the site's clock skips or repeats is refused)."""
    raw = data.get("readings") if isinstance(data, Mapping) else None
    if raw in (None, "", []):
        return data, None
    if not isinstance(raw, list) or len(raw) != 2 or not all(isinstance(r, Mapping) for r in raw):
        # words without a unit: the page's readings are typed in the analyst's unit (MBq or mCi), the
        # API's in MBq (its field says so)
        raise DomainError(
            "VALIDATION_ERROR",
            "Give exactly two readings, each with a time and an activity.",
            422,
            {"fields": {"readings": ['Two readings: {"at": a time, "mbq": the activity in MBq}.']}},
        )
    from app.core.web import parse_local, site_tz
    from app.qc.domain import half_life as hl

    pair = [
        hl.Reading(
            parse_local(r.get("at"), f"readings[{i}].at"),
            to_decimal(r.get("mbq"), f"readings[{i}].mbq") or Decimal(0),
        )
        for i, r in enumerate(raw)
    ]
    value = hl.half_life_in_unit(pair[0], pair[1], result.unit)
    record = hl.readings_record(pair[0], pair[1], hl.half_life_seconds(pair[0], pair[1]), site_tz())
    return {**data, "numeric_value": str(value)}, record


def _check_may_enter(batch: Any, session: BatchQcSession, result: BatchQcResult) -> None:
    from app.batches.domain.states import label

    if result.timing == "AFTER_RELEASE":
        if batch.status in NOT_YET_PRODUCED:
            raise DomainError(
                "QC_NOT_READY", f"QC results come after production; the batch is {label(batch.status)}.", 409
            )
        return
    if batch.status not in QC_ENTRY_BATCH_STATES:
        raise DomainError(
            "QC_NOT_READY" if batch.status in NOT_YET_PRODUCED else "QC_ENTRY_CLOSED",
            f"Before-release QC results can be entered while the batch is in QC; it is {label(batch.status)}.",
            409,
        )
    if session.status not in flow.OPEN_STATES:
        raise DomainError(
            "QC_ENTRY_CLOSED",
            f"The QC session is {flow.STATUS_LABELS[session.status].lower()}: results can no longer be changed"
            + (
                " (the reviewer can return it for correction)." if session.status == "WAITING_REVIEW" else "."
            ),
            409,
        )


def _same(result: BatchQcResult, entry: Entry, status: str) -> bool:
    return (
        result.numeric_value == entry.numeric_value
        and (result.text_value or None) == entry.text_value
        and (result.pass_fail_value or None) == entry.pass_fail_value
        and (status == "NOT_APPLICABLE") == (result.status == "NOT_APPLICABLE")
    )


def _record_one(
    batch: Any,
    session: BatchQcSession,
    result: BatchQcResult,
    data: Mapping[str, Any],
    actor: Actor,
    *,
    verdict_only: bool = False,
) -> bool:
    """Evaluate and store one value (no commit). Returns False when nothing changed."""
    data, readings = _with_half_life(data, result)
    entry = _entry_from(data, result)
    if entry.not_applicable and result.is_required:
        raise DomainError(
            "QC_REQUIRED_TEST", f"{result.test_name_en} is required: it cannot be marked N/A.", 409
        )
    verdict = evaluate(spec_of(result), entry)
    sample_id = _sample_for(batch, result, data)
    if _same(result, entry, verdict.status):
        return _name_sample(batch, result, sample_id, entry.reason, actor)
    first = result.value_version == 0
    kind = _entry_kind(result, entry, verdict_only)
    before = None if first else _value_snapshot(result)
    _store_value(result, entry, verdict, kind, readings, sample_id, actor)
    audit.record(
        "BatchQcResult",
        result.id,
        _AUDIT_ACTION[kind],
        before=before,
        after={
            **_value_snapshot(result),
            "batch_id": batch.id,
            "test": result.test_code,
            "version": result.value_version,
            "sample_id": result.sample_id,
        },
        reason=entry.reason,
        actor=actor,
    )
    from app.qc import outcome as qc_outcome

    qc_outcome.after_result(batch, session, result, kind, actor)
    return True


_AUDIT_ACTION = {
    "ENTRY": "ENTER_RESULT",
    "CORRECTION": "CORRECT_RESULT",
    "VERDICT": "GIVE_VERDICT",
    "NOT_APPLICABLE": "MARK_NOT_APPLICABLE",
}


def _entry_kind(result: BatchQcResult, entry: Entry, verdict_only: bool) -> str:
    """What this value is: the first entry, a reviewer's Pass/Fail on a value already there, N/A, or a
    correction (which needs a reason: a recorded value is never silently replaced)."""
    first = result.value_version == 0
    only_verdict_added = (
        not first
        and result.needs_verdict
        and result.pass_fail_value is None
        and result.numeric_value == entry.numeric_value
        and (result.text_value or None) == entry.text_value
    )
    if verdict_only and not only_verdict_added:
        raise DomainError("QC_ENTRY_CLOSED", "A reviewer may only give the Pass/Fail decision here.", 409)
    if entry.not_applicable:
        return "NOT_APPLICABLE"
    kind = "ENTRY" if first else "VERDICT" if only_verdict_added else "CORRECTION"
    if kind == "CORRECTION" and not entry.reason:
        raise DomainError(
            "REASON_REQUIRED",
            f"{result.test_name_en} already has a result: give a reason for the correction.",
            422,
            {"fields": {"reason": "required for a correction"}},
        )
    return kind


def _store_value(
    result: BatchQcResult,
    entry: Entry,
    verdict: Any,
    kind: str,
    readings: Any,
    sample_id: int | None,
    actor: Actor,
) -> None:
    """The result row takes the new value and verdict; the value history keeps every version."""
    result.numeric_value = entry.numeric_value
    result.text_value = entry.text_value
    result.pass_fail_value = entry.pass_fail_value
    result.status = verdict.status
    result.fail_reason = verdict.fail_reason
    result.alert = verdict.alert
    result.alert_reason = verdict.alert_reason
    result.overridden = verdict.overridden
    result.needs_verdict = verdict.needs_verdict
    result.value_version += 1
    result.readings = readings
    result.sample_id = sample_id
    result.entered_by_user_id = actor.user_id
    result.entered_by_name = actor.printed_name
    result.entered_at = clock.stamp()
    db.session.add(
        BatchQcResultValue(
            result_id=result.id,
            version=result.value_version,
            kind=kind,
            numeric_value=entry.numeric_value,
            text_value=entry.text_value,
            pass_fail_value=entry.pass_fail_value,
            status=verdict.status,
            fail_reason=verdict.fail_reason,
            alert_reason=verdict.alert_reason,
            overridden=verdict.overridden,
            reason=entry.reason,
            readings=readings,
            entered_by_user_id=actor.user_id,
            entered_by_name=actor.printed_name,
            entered_by_role=_role(actor),
            entered_at=clock.stamp(),
            trace_id=current_trace_id(),
        )
    )


def batch_samples(batch_id: int) -> list[BatchQcSample]:
    return list(
        db.session.execute(
            select(BatchQcSample).where(BatchQcSample.batch_id == batch_id).order_by(BatchQcSample.taken_at)
        ).scalars()
    )


def _sample_for(batch: Any, result: BatchQcResult, data: Mapping[str, Any]) -> int | None:
    """The sample this value was measured on: the one named (`sample_id`), else the one already
    linked, else the only recorded sample of the test's type (None while there is none or several)."""
    named = data.get("sample_id") if isinstance(data, Mapping) else None
    if named in (None, ""):
        if result.sample_id is not None:
            return result.sample_id
        return sample_rules.automatic(result.test_code, batch_samples(batch.id))
    sample = db.session.get(BatchQcSample, named) if str(named).isdigit() else None
    if sample is None or sample.batch_id != batch.id:
        raise DomainError(
            "VALIDATION_ERROR",
            "That sample was not taken from this batch.",
            422,
            {"fields": {"sample_id": "not a sample of this batch"}},
        )
    if not sample_rules.suitable(result.test_code, sample.sample_type):
        from app.qc.samples import SAMPLE_LABELS

        wanted = SAMPLE_LABELS[sample_rules.sample_type_for(result.test_code)].lower()
        raise DomainError(
            "VALIDATION_ERROR",
            f"{result.test_name_en} is measured on {_a(wanted + ' sample')}, not on "
            f"{_a(SAMPLE_LABELS[sample.sample_type].lower() + ' sample')}.",
            422,
            {"fields": {"sample_id": "wrong sample type"}},
        )
    return sample.id


def _name_sample(
    batch: Any, result: BatchQcResult, sample_id: int | None, reason: str | None, actor: Actor
) -> bool:
    """The value stays; only the sample it was measured on is named (or, with a reason, corrected)."""
    if sample_id == result.sample_id or result.value_version == 0:
        return False
    if result.sample_id is not None and not reason:
        raise DomainError(
            "REASON_REQUIRED",
            f"{result.test_name_en} already names its sample: give a reason for changing it.",
            422,
            {"fields": {"reason": "required to change the sample"}},
        )
    before = {"sample_id": result.sample_id}
    result.sample_id = sample_id
    audit.record(
        "BatchQcResult",
        result.id,
        "NAME_SAMPLE",
        before=before,
        after={"sample_id": sample_id, "batch_id": batch.id, "test": result.test_code},
        reason=reason,
        actor=actor,
    )
    return True


def sample_refusal(batch_id: int, session: BatchQcSession) -> tuple[DomainError | None, dict[int, int]]:
    """What stops submission for want of samples (None when nothing), and the samples that would be
    linked automatically: {result id: the only sample of its type}."""
    from app.qc.samples import SAMPLE_LABELS

    recorded = batch_samples(batch_id)
    missing: dict[str, list[str]] = {}
    unnamed: list[str] = []
    automatic: dict[int, int] = {}
    for r in session.results:
        if r.timing != "BEFORE_RELEASE" or r.status == "NOT_APPLICABLE" or r.sample_id is not None:
            continue
        found = sample_rules.candidates(r.test_code, recorded)
        if not found:
            missing.setdefault(sample_rules.sample_type_for(r.test_code), []).append(r.test_name_en)
        elif len(found) > 1:
            unnamed.append(r.test_name_en)
        else:
            automatic[r.id] = found[0].id
    if missing:
        kinds = " and ".join(_a(f"{SAMPLE_LABELS[k].lower()} sample") for k in missing)
        names = [t for found_names in missing.values() for t in found_names]
        tests = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        return DomainError(
            "SAMPLE_REQUIRED",
            f"Record {kinds} before submitting QC: each result names the sample it was measured on ({tests}).",
            409,
            {"missing_sample_types": sorted(missing)},
        ), automatic
    if unnamed:
        return DomainError(
            "SAMPLE_REQUIRED",
            "Several samples of the same kind were recorded: choose the sample for "
            + ", ".join(unnamed[:5])
            + (" ..." if len(unnamed) > 5 else "")
            + " before submitting.",
            409,
        ), automatic
    return None, automatic


def _a(words: str) -> str:
    return ("an " if words[:1] in "aeiou" else "a ") + words


def link_samples(batch: Any, session: BatchQcSession) -> None:
    """Before submission every before-release result names its sample: the only one of its type is
    taken; none recorded, or several without a choice, refuse the submission (SAMPLE_REQUIRED)."""
    refusal, automatic = sample_refusal(batch.id, session)
    if refusal is not None:
        raise refusal
    for r in session.results:
        if r.id in automatic and r.value_version > 0:
            r.sample_id = automatic[r.id]


def _value_snapshot(result: BatchQcResult) -> dict[str, Any]:
    return {
        "numeric_value": audit.jsonable(result.numeric_value),
        "text_value": result.text_value,
        "pass_fail_value": result.pass_fail_value,
        "status": result.status,
        "fail_reason": result.fail_reason,
        "alert_reason": result.alert_reason,
        "overridden": result.overridden,
    }


def _role(actor: Actor) -> str | None:
    for role in ("QC Analyst", "QC Reviewer", "QC Manager", "Admin"):
        if actor.has_role(role):
            return role
    return actor.roles[0] if actor.roles else None


def _find_result(session: BatchQcSession, result_id: Any) -> BatchQcResult:
    for r in session.results:
        if str(r.id) == str(result_id):
            return r
    raise NotFound("QC result")


@atomic
def record_qc_result(
    batch_id: int, result_id: int, data: Mapping[str, Any], *, actor: Actor | None = None
) -> BatchQcResult:
    """Enter or correct one result (evaluated by its frozen criterion); corrections need a reason."""
    actor = actor or current_actor()
    batch, session = lock_session(batch_id)
    result = _find_result(session, result_id)
    _check_may_enter(batch, session, result)
    _record_one(batch, session, result, data, actor)
    db.session.commit()
    return result


@atomic
def save_results(
    batch_id: int, entries: Iterable[tuple[Any, Mapping[str, Any]]], *, actor: Actor | None = None
) -> int:
    """Save Draft: record every changed row of the QC table in one transaction (all or nothing)."""
    actor = actor or current_actor()
    batch, session = lock_session(batch_id)
    changed = 0
    for result_id, data in entries:
        result = _find_result(session, result_id)
        entry = _entry_from(data, result)
        if (
            result.value_version == 0
            and entry.numeric_value is None
            and not entry.text_value
            and not entry.pass_fail_value
            and not entry.not_applicable
        ):
            continue  # an untouched empty row
        _check_may_enter(batch, session, result)
        changed += _record_one(batch, session, result, data, actor)
    db.session.commit()
    return changed


# --- submit and review ---------------------------------------------------------------------------------


@atomic
def submit_session(batch_id: int, *, actor: Actor | None = None, note: str | None = None) -> BatchQcSession:
    """The analyst completes QC: WAITING_REVIEW with the reviewer step, else passed/failed directly."""
    actor = actor or current_actor()
    batch, session = lock_session(batch_id)
    link_samples(batch, session)
    trigger = "submit_for_review" if session.review_required else "complete"
    session.status = flow.fire(session.status, trigger, facts(session))
    session.completed_at = clock.stamp()
    session.analyst_user_id = session.analyst_user_id or actor.user_id
    session.analyst_name = session.analyst_name or actor.printed_name
    if note:
        session.notes = text_input(note, "note", limit=NOTE_MAX)
    db.session.flush()
    audit.record(
        "BatchQcSession",
        session.id,
        "SUBMIT",
        after={
            "status": session.status,
            "samples": {r.test_code: r.sample_id for r in session.results if r.sample_id is not None},
        },
        reason=note,
        actor=actor,
    )
    from app.qc import outcome as qc_outcome

    qc_outcome.after_session_change(batch, session, trigger, actor, note=note)
    db.session.commit()
    return session


def entered_by(session: BatchQcSession) -> set[int]:
    """Everyone who recorded any value in this session (the reviewer must not be among them)."""
    ids = db.session.execute(
        select(BatchQcResultValue.entered_by_user_id)
        .join(BatchQcResult, BatchQcResult.id == BatchQcResultValue.result_id)
        .where(BatchQcResult.session_id == session.id, BatchQcResultValue.kind != "VERDICT")
        .distinct()
    ).scalars()
    return {i for i in ids if i is not None}


def check_may_review(session: BatchQcSession, actor: Actor) -> None:
    if not actor.has_role(*REVIEW_ROLES):
        raise DomainError("FORBIDDEN", "Only a QC Reviewer or QC Manager can review QC results.", 403)
    if actor.user_id in entered_by(session) or actor.user_id == session.analyst_user_id:
        raise DomainError(
            "SEGREGATION_OF_DUTIES",
            "You entered results in this QC session, so you cannot review it: another reviewer must decide.",
            403,
        )


@atomic
def review_session(
    batch_id: int,
    decision: str,
    *,
    note: str | None = None,
    verdicts: Mapping[str, str] | None = None,
    actor: Actor | None = None,
) -> BatchQcSession:
    """A second person approves (passed/failed by the results), rejects (failed) or returns the session."""
    actor = actor or current_actor()
    decision = str(decision or "").strip().upper()
    if decision not in REVIEW_DECISIONS:
        raise DomainError(
            "VALIDATION_ERROR",
            "Choose APPROVE or REJECT.",
            422,
            {"fields": {"decision": "APPROVE, REJECT or RETURN"}},
        )
    note = text_input(note, "note", limit=NOTE_MAX)
    if decision in ("REJECT", "RETURN") and not note:
        raise DomainError(
            "NOTE_REQUIRED",
            "Say why the results are rejected or returned.",
            422,
            {"fields": {"note": "required"}},
        )
    batch, session = lock_session(batch_id)
    if session.status != "WAITING_REVIEW":
        raise flow.refusal(session.status, "approve", facts(session))
    check_may_review(session, actor)
    for result_id, choice in (verdicts or {}).items():
        result = _find_result(session, result_id)
        _record_one(batch, session, result, {"pass_fail_value": choice}, actor, verdict_only=True)
    db.session.flush()
    trigger = {"APPROVE": "approve", "REJECT": "reject", "RETURN": "return_for_correction"}[decision]
    session.status = flow.fire(session.status, trigger, facts(session))
    if decision != "RETURN":
        session.reviewed_by_user_id = actor.user_id
        session.reviewed_by_name = actor.printed_name
        session.reviewed_at = clock.stamp()
    session.review_decision = decision
    session.review_note = note
    db.session.flush()
    audit.record(
        "BatchQcSession",
        session.id,
        f"REVIEW_{decision}",
        after={"status": session.status},
        reason=note,
        actor=actor,
    )
    from app.qc import outcome as qc_outcome

    qc_outcome.after_session_change(batch, session, trigger, actor, note=note)
    db.session.commit()
    return session


def _event(
    batch: Any, title: str, actor: Actor, *, note: str | None = None, metadata: dict[str, Any] | None = None
) -> None:
    from app.batches import service as batches

    batches.record_event(batch, "QC", title, actor, note=note, metadata=metadata)

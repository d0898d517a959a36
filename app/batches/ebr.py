"""The basic electronic batch record (eBR): business acts on master batch records and their execution.

Rules:
- a product's master batch record is versioned: a new version starts as DRAFT (editable), becomes
  ACTIVE only with the QC Manager's or Admin's e-signature, and the previously active one retires;
- each new batch gets a snapshot of the ACTIVE version at creation (later edits never change it);
- Production executes the steps on the batch page: who and when are recorded; a numeric value is
  checked against the step's limits; a value out of limits needs a note and raises a deviation
  (through the batch service, which stops the batch); a skipped step needs a note; a correction
  of a done step needs a reason and is counted (the QP's review by exception lists all three).
Every act writes an audit row and commits once (the deviation move commits with it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from app.audit import service as audit
from app.batches.ebr_models import BatchEbrStep, EbrMaster, EbrMasterStep
from app.batches.models import Batch, Deviation
from app.core.actor import Actor
from app.core.domain import DomainError, Forbidden, NotFound, ValidationFailed
from app.core.extensions import db
from app.masterdata.domain.decay import activity_at
from app.masterdata.models import Product

SIGN_SCOPE = "EBR_ACTIVATION"
SIGN_MEANING = "I approve this master batch record for production."
ACTIVATORS = ("QC Manager", "Admin")
EXECUTORS = ("Production", "Admin")
# Steps can be recorded while the batch is being made (and corrected until it leaves QC).
EXECUTABLE_STATES = (
    "PLANNED",
    "IN_PRODUCTION",
    "PRODUCTION_COMPLETE",
    "QC_PENDING",
    "QC_IN_PROGRESS",
    "DEVIATION_OPEN",
)


@dataclass(frozen=True)
class StepInput:
    title: str
    instruction: str = ""
    value_label: str | None = None
    unit: str | None = None
    expected_value: Any = None
    lower_limit: Any = None
    upper_limit: Any = None
    is_yield: bool = False


def _number(raw: Any, field: str) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValidationFailed(f"{field} must be a number.", {field: ["Not a number."]}) from None
    if not value.is_finite() or abs(value) >= Decimal("1e11"):
        raise ValidationFailed(f"{field} is out of range.", {field: ["Out of range."]})
    return value


def within_limits(value: Decimal | None, lower: Decimal | None, upper: Decimal | None) -> bool:
    if value is None:
        return True
    return (lower is None or value >= lower) and (upper is None or value <= upper)


# --- master batch records -------------------------------------------------------------------------
def create_draft(product_id: int, title: str, steps: list[StepInput], actor: Actor) -> EbrMaster:
    """A new DRAFT version of a product's master batch record (the next version number)."""
    if not actor.has_role(*ACTIVATORS):
        raise Forbidden("Only a QC Manager or an Admin writes master batch records.")
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise ValidationFailed("Give the record a title (at most 200 characters).", {"title": ["Required."]})
    if not steps:
        raise ValidationFailed("Add at least one step.", {"steps": ["Required."]})
    if len(steps) > 100:
        raise ValidationFailed("At most 100 steps.", {"steps": ["Too many."]})
    try:
        product = db.session.get(Product, product_id, with_for_update=True)
        if product is None:
            raise NotFound("product")
        last = db.session.execute(
            select(func.max(EbrMaster.version)).where(EbrMaster.product_id == product_id)
        ).scalar_one()
        master = EbrMaster(
            product_id=product_id, version=(last or 0) + 1, title=title, created_by_id=actor.user_id
        )
        for seq, s in enumerate(steps, start=1):
            lower, upper = _number(s.lower_limit, "lower_limit"), _number(s.upper_limit, "upper_limit")
            if lower is not None and upper is not None and lower > upper:
                raise ValidationFailed(f"Step {seq}: the lower limit is above the upper limit.")
            if not (s.title or "").strip() or len(s.title) > 200:
                raise ValidationFailed(f"Step {seq} needs a title (at most 200 characters).")
            master.steps.append(
                EbrMasterStep(
                    seq=seq,
                    title=s.title.strip(),
                    instruction=(s.instruction or "").strip(),
                    value_label=(s.value_label or "").strip() or None,
                    unit=(s.unit or "").strip() or None,
                    expected_value=_number(s.expected_value, "expected_value"),
                    lower_limit=lower,
                    upper_limit=upper,
                    is_yield=bool(s.is_yield),
                )
            )
        db.session.add(master)
        db.session.flush()
        audit.record("EbrMaster", master.id, "CREATE", after=master_content(master), actor=actor)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return master


def master_content(master: EbrMaster) -> dict[str, Any]:
    """What the activation signature covers."""
    return {
        "product_id": master.product_id,
        "version": master.version,
        "title": master.title,
        "steps": [
            {
                "seq": s.seq,
                "title": s.title,
                "instruction": s.instruction,
                "value_label": s.value_label,
                "unit": s.unit,
                "expected_value": None if s.expected_value is None else str(s.expected_value),
                "lower_limit": None if s.lower_limit is None else str(s.lower_limit),
                "upper_limit": None if s.upper_limit is None else str(s.upper_limit),
                "is_yield": s.is_yield,
            }
            for s in master.steps
        ],
    }


def activate(master_id: int, password: str | None, actor: Actor, *, meaning: str | None = None) -> EbrMaster:
    """DRAFT -> ACTIVE with the QC Manager's or Admin's e-signature; the active version retires."""
    from app.security import esign

    if not actor.has_role(*ACTIVATORS):
        raise Forbidden("Only a QC Manager or an Admin activates a master batch record.")
    try:
        master = db.session.get(EbrMaster, master_id)
        if master is None:
            raise NotFound("master batch record")
        db.session.get(Product, master.product_id, with_for_update=True)  # one activation at a time
        db.session.refresh(master, with_for_update=True)
        if master.status != "DRAFT":
            raise DomainError(
                "EBR_STATE", f"Version {master.version} is {master.status.lower()}, not a draft.", 409
            )
        signature = esign.sign(
            actor,
            password,
            scope=SIGN_SCOPE,
            entity_type="EbrMaster",
            entity_id=master.id,
            meaning=(meaning or SIGN_MEANING),
            content=master_content(master),
        )
        previous = active_master(master.product_id)
        now = dt.datetime.now(dt.UTC)
        if previous is not None:
            previous.status, previous.retired_at = "RETIRED", now
            db.session.flush()
            audit.record("EbrMaster", previous.id, "RETIRE", after={"status": "RETIRED"}, actor=actor)
        master.status, master.activated_at, master.activated_by_id = "ACTIVE", now, actor.user_id
        master.signature_id = signature.id
        db.session.flush()
        audit.record(
            "EbrMaster",
            master.id,
            "ACTIVATE",
            after={"status": "ACTIVE"},
            actor=actor,
            signature_id=int(signature.id),
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return master


def active_master(product_id: int) -> EbrMaster | None:
    return db.session.execute(
        select(EbrMaster).where(EbrMaster.product_id == product_id, EbrMaster.status == "ACTIVE")
    ).scalar_one_or_none()


def snapshot_onto_batch(batch: Any) -> int:
    """Batch-creation listener: copy the product's ACTIVE master steps onto the batch (same
    transaction as the creation; a product without an active record gives a batch without eBR)."""
    master = active_master(batch.product_id)
    if master is None:
        return 0
    for s in master.steps:
        db.session.add(
            BatchEbrStep(
                batch_id=batch.id,
                master_id=master.id,
                seq=s.seq,
                title=s.title,
                instruction=s.instruction,
                value_label=s.value_label,
                unit=s.unit,
                expected_value=s.expected_value,
                lower_limit=s.lower_limit,
                upper_limit=s.upper_limit,
                is_yield=s.is_yield,
            )
        )
    db.session.flush()
    return len(master.steps)


# --- execution ------------------------------------------------------------------------------------
def record_step(
    batch_id: int,
    step_id: int,
    actor: Actor,
    *,
    value: Any = None,
    note: str | None = None,
    skip: bool = False,
    reason: str | None = None,
) -> BatchEbrStep:
    """Production records one step (done with its value, or skipped with a note).

    Rule: a value out of the step's limits needs a note and opens a deviation on the batch; a
    correction of a recorded step needs a reason and is counted; only Production or Admin record.
    """
    from app.batches import service as batches

    if not actor.has_role(*EXECUTORS):
        raise Forbidden("Only Production records batch record steps.")
    note = (note or "").strip() or None
    if note is not None and len(note) > 2000:
        raise ValidationFailed("The note is too long (2000 characters at most).", {"note": ["Too long."]})
    try:
        batch = db.session.get(Batch, batch_id, with_for_update=True)
        step = db.session.get(BatchEbrStep, step_id, with_for_update=True)
        if batch is None or step is None or step.batch_id != batch_id:
            raise NotFound("batch record step")
        if batch.status not in EXECUTABLE_STATES:
            raise DomainError(
                "EBR_CLOSED", f"The batch record can no longer be changed ({batch.status}).", 409
            )
        before = step_snapshot(step)
        correcting = step.status != "PENDING"
        if correcting and not (reason or "").strip():
            raise ValidationFailed("Correcting a recorded step needs a reason.", {"reason": ["Required."]})
        number = None if skip else _number(value, "value")
        if not skip and step.value_label and number is None:
            raise ValidationFailed(f"Enter the {step.value_label}.", {"value": ["Required."]})
        out = not skip and not within_limits(number, step.lower_limit, step.upper_limit)
        if skip and note is None:
            raise ValidationFailed("Skipping a step needs a note saying why.", {"note": ["Required."]})
        if out and note is None:
            raise ValidationFailed(
                f"{float(number or 0):g} {step.unit or ''} is outside {limits_text(step)}: add a note; a deviation is opened.",
                {"note": ["Required when out of limits."]},
            )
        step.status = "SKIPPED" if skip else "DONE"
        step.value, step.note, step.out_of_limits = number, note, out
        step.done_by_id, step.done_by_name = actor.user_id, actor.printed_name
        step.done_at = dt.datetime.now(dt.UTC)
        if correcting:
            step.corrections = (step.corrections or 0) + 1
        if step.is_yield and number is not None:
            batch.actual_yield_mbq = number
        db.session.flush()
        audit.record(
            "BatchEbrStep",
            step.id,
            "CORRECT" if correcting else ("SKIP" if skip else "RECORD"),
            before=before if correcting else None,
            after=step_snapshot(step),
            reason=(reason or "").strip() or None,
            actor=actor,
        )
        if out:
            open_dev = db.session.execute(
                select(Deviation).where(Deviation.batch_id == batch_id, Deviation.status == "OPEN")
            ).scalar_one_or_none()
            if open_dev is None:
                text = f"eBR step {step.seq} {step.title}: {number} {step.unit or ''} outside {limits_text(step)}. {note}"
                open_dev = batches.open_deviation(batch_id, text[:2000], actor)  # commits with the step
                step = db.session.get(BatchEbrStep, step_id)  # type: ignore[assignment]
            step.deviation_id = open_dev.id
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return step


def step_snapshot(step: BatchEbrStep) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "status": step.status,
        "value": None if step.value is None else str(step.value),
        "note": step.note,
        "out_of_limits": step.out_of_limits,
        "done_by": step.done_by_name,
        "done_at": step.done_at,
    }


def limits_text(step: Any) -> str:
    unit = f" {step.unit}" if step.unit else ""
    lo, hi = step.lower_limit, step.upper_limit
    if lo is not None and hi is not None:
        return f"{float(lo):g}–{float(hi):g}{unit}"
    if lo is not None:
        return f"≥ {float(lo):g}{unit}"
    if hi is not None:
        return f"≤ {float(hi):g}{unit}"
    return "no limits"


# --- reading --------------------------------------------------------------------------------------
def batch_steps(batch_id: int) -> list[BatchEbrStep]:
    return list(
        db.session.execute(
            select(BatchEbrStep).where(BatchEbrStep.batch_id == batch_id).order_by(BatchEbrStep.seq)
        ).scalars()
    )


def planned_vs_actual(batch: Any) -> dict[str, Any] | None:
    """Planned activity decay-corrected to the actual end of synthesis, against the actual yield."""
    if batch.planned_activity_mbq is None or batch.actual_yield_mbq is None:
        return None
    planned = float(batch.planned_activity_mbq)
    corrected = planned
    if batch.actual_end_at is not None and batch.product is not None and batch.product.nuclide is not None:
        corrected = activity_at(
            planned, batch.planned_end_at, batch.actual_end_at, batch.product.nuclide.half_life_s
        )
    actual = float(batch.actual_yield_mbq)
    return {
        "planned_mbq": planned,
        "planned_corrected_mbq": round(corrected, 1),
        "actual_mbq": actual,
        "yield_pct": round(100.0 * actual / corrected, 1) if corrected > 0 else None,
    }


def review_findings(batch_id: int) -> list[dict[str, str]]:
    """For the QP's review by exception: steps out of limits, skipped, corrected or not done."""
    out = []
    for s in batch_steps(batch_id):
        where = f"Step {s.seq} {s.title}"
        if s.out_of_limits:
            out.append(
                {
                    "kind": "EBR",
                    "severity": "EXCEPTION",
                    "title": "eBR step out of limits",
                    "detail": f"{where}: {float(s.value):g} {s.unit or ''} outside {limits_text(s)} — {s.note}",
                }
            )
        if s.status == "SKIPPED":
            out.append(
                {
                    "kind": "EBR",
                    "severity": "EXCEPTION",
                    "title": "eBR step skipped",
                    "detail": f"{where}: {s.note}",
                }
            )
        if s.corrections:
            out.append(
                {
                    "kind": "EBR",
                    "severity": "NOTICE",
                    "title": "eBR step corrected",
                    "detail": f"{where}: corrected {s.corrections} time(s), last by {s.done_by_name}",
                }
            )
        if s.status == "PENDING":
            out.append(
                {"kind": "EBR", "severity": "EXCEPTION", "title": "eBR step not done", "detail": where}
            )
    return out

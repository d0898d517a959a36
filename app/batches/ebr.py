"""The basic electronic batch record (eBR): business acts on master batch records and their execution.

Rules:
- a step whose unit is an activity (MBq, GBq, mCi) is kept and compared in its own unit; a person may
  type it in the unit they read (converted exactly, refused when the step's 3 decimals cannot hold it)
  and reads its value, limits and refusals in that unit (`reader_unit`, passed in by the page);
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
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select

from app.audit import service as audit
from app.batches.ebr_models import BatchEbrStep, EbrMaster, EbrMasterStep
from app.batches.models import Batch, Deviation
from app.core.actor import Actor
from app.core.domain import DomainError, Forbidden, NotFound, ValidationFailed
from app.core.extensions import db
from app.masterdata.domain.decay import activity_at
from app.masterdata.domain.units import (
    MBQ_PER_UNIT,
    convert_activity,
    exact_decimal,
    format_activity,
)
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
STEP_PLACES = 3  # batch_ebr_step.value keeps 3 decimals (Numeric(14, 3)): finer input is refused
YIELD_PLACES = 1  # batch.actual_yield_mbq keeps 0.1 MBq (Numeric(12, 1))
VALUE_LIMIT = Decimal("1e11")  # what Numeric(14, 3) holds


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
    if not value.is_finite() or abs(value) >= VALUE_LIMIT:
        raise ValidationFailed(f"{field} is out of range.", {field: ["Out of range."]})
    return value


# --- steps whose value is an activity (issue 13 item 8) ------------------------------------------------
def activity_unit_of(step: Any) -> str | None:
    """The step's unit when it is an activity (MBq, GBq or mCi; a yield step without a unit is in
    MBq), else None: °C, mL, % and check steps keep their own unit for everyone."""
    unit = step.unit or ("MBq" if step.is_yield else None)
    return unit if unit in MBQ_PER_UNIT else None


def entry_units(step: Any, reader_unit: str) -> list[str]:
    """The units a person may type the step's value in, theirs first: mCi for one who reads mCi; for
    one who reads MBq the step's unit when it is MBq or GBq, else MBq. The step's own unit is always
    offered (an mCi step's value typed in MBq is rarely a whole number of thousandths of a mCi).
    Empty for a step that is not an activity."""
    own = activity_unit_of(step)
    if own is None:
        return []
    mine = "mCi" if reader_unit == "mCi" else (own if own in ("MBq", "GBq") else "MBq")
    return [mine] if mine == own else [mine, own]


def _plain(value: Decimal | Fraction, grouped: bool = False) -> str:
    """A number as recorded, without a float's noise: 55500, 10.5, 0.037 ('55,500' when `grouped`)."""
    exact = exact_decimal(Fraction(value), STEP_PLACES) if isinstance(value, Fraction) else value
    if exact is None:
        return f"{float(value):g}"
    return f"{exact.normalize():,f}" if grouped else f"{exact.normalize():f}"


def _shown(value: Decimal, own: str, reader_unit: str) -> tuple[str, bool]:
    """A step's value (in its unit `own`) for a person who reads `reader_unit`: the usual activity text
    (about three figures; GBq above 10,000 MBq) when it is exact, else the exact decimal in the same
    unit when a short one holds it (10.123 mCi); the flag says whether the text is exact."""
    mbq = convert_activity(value, own, "MBq")
    text = format_activity(mbq, reader_unit)
    number, shown_unit = text.rsplit(" ", 1)
    in_shown = convert_activity(mbq, "MBq", shown_unit)
    if Fraction(Decimal(number.replace(",", ""))) == in_shown:
        return text, True
    exact = exact_decimal(in_shown, STEP_PLACES + 3)
    if exact is not None:
        return f"{exact:,f} {shown_unit}", True
    return text, False


def value_text(value: Any, step: Any, reader_unit: str | None = None) -> str:
    """A recorded value of the step for a person: an activity in their unit ('10.50 mCi'; a rounded
    one names the value as recorded: '13.51 mCi (500 MBq as recorded)'), any other value in the step's
    own unit ('15 mL')."""
    own = activity_unit_of(step)
    number = Decimal(str(value))
    if own is None or reader_unit is None:
        return f"{_plain(number)} {step.unit or ''}".strip()
    text, exact = _shown(number, own, reader_unit)
    return text if exact else f"{text} ({_plain(number, grouped=True)} {own} as recorded)"


def _range(lo: str | None, hi: str | None) -> str:
    if lo is not None and hi is not None:
        lo_number, lo_unit = lo.rsplit(" ", 1) if " " in lo else (lo, "")
        if hi.endswith(f" {lo_unit}") and lo_unit:
            return f"{lo_number}–{hi}"  # one unit: '40.00–90.00 GBq'
        return f"{lo} – {hi}"  # '5,000 MBq – 20.00 GBq'
    if lo is not None:
        return f"≥ {lo}"
    if hi is not None:
        return f"≤ {hi}"
    return "no limits"


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
    value_unit: str | None = None,
    reader_unit: str | None = None,
) -> BatchEbrStep:
    """Production records one step (done with its value, or skipped with a note).

    Rule: a value out of the step's limits needs a note and opens a deviation on the batch; a
    correction of a recorded step needs a reason and is counted; only Production or Admin record.
    `value_unit`: the unit `value` was typed in (an activity step's value is converted exactly to the
    step's unit and compared there; None: the step's unit). `reader_unit`: the unit the refusals name
    an activity in (the person's; None: the step's unit).
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
        typed = None if skip else _number(value, "value")
        if not skip and step.value_label and typed is None:
            raise ValidationFailed(f"Enter the {step.value_label}.", {"value": ["Required."]})
        number, entered = _in_step_unit(typed, value_unit, step)
        out = not skip and not within_limits(number, step.lower_limit, step.upper_limit)
        if skip and note is None:
            raise ValidationFailed("Skipping a step needs a note saying why.", {"note": ["Required."]})
        if out and note is None:
            raise ValidationFailed(
                f"{_typed_text(number, entered, step)} is outside {step_limits_text(step, reader_unit)}: "
                "add a note; a deviation is opened.",
                {"note": ["Required when out of limits."]},
            )
        yield_mbq = _yield_mbq(step, number, entered)
        step.status = "SKIPPED" if skip else "DONE"
        step.value, step.note, step.out_of_limits = number, note, out
        step.done_by_id, step.done_by_name = actor.user_id, actor.printed_name
        step.done_at = dt.datetime.now(dt.UTC)
        if correcting:
            step.corrections = (step.corrections or 0) + 1
        if yield_mbq is not None:
            batch.actual_yield_mbq = yield_mbq
        db.session.flush()
        after = step_snapshot(step)
        if entered is not None:  # what was typed, for the record
            after["entered"] = entered
        audit.record(
            "BatchEbrStep",
            step.id,
            "CORRECT" if correcting else ("SKIP" if skip else "RECORD"),
            before=before if correcting else None,
            after=after,
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


def _in_step_unit(typed: Decimal | None, unit: str | None, step: Any) -> tuple[Decimal | None, str | None]:
    """The typed value in the step's unit, exactly, and what was typed ('10.5 mCi') when that was
    another unit (None when it was the step's own). Refused (TOO_PRECISE, 422) when the step's 3
    decimals cannot hold it: never rounded."""
    own, unit = activity_unit_of(step), unit or None
    if typed is None or unit is None or unit == own or (own is None and unit == (step.unit or "")):
        return typed, None
    if own is None or unit not in MBQ_PER_UNIT:
        raise ValidationFailed(
            f"Step {step.seq} is recorded in {step.unit or 'no unit'}, not {unit}.",
            {"value_unit": ["Wrong unit."]},
        )
    exact = convert_activity(typed, unit, own)
    kept = exact_decimal(exact, STEP_PLACES)
    entered = f"{_plain(typed)} {unit}"
    if kept is None:
        approx = exact_decimal(exact, STEP_PLACES + 3)
        shown = f"{approx:f}" if approx is not None else f"{float(exact):.6g}…"
        # MBq -> mCi divides by 37: no rounding of the MBq gives thousandths of a mCi, mostly
        roundable = exact_decimal(Fraction(MBQ_PER_UNIT[unit], MBQ_PER_UNIT[own])) is not None
        hint = "round the value you type" if roundable else f"type it in {own}"
        raise _too_precise(
            f"{entered} is {shown} {own}", STEP_PLACES, f"the batch record keeps in {own}", hint, own
        )
    if abs(kept) >= VALUE_LIMIT:
        raise ValidationFailed("value is out of range.", {"value": ["Out of range."]})
    return kept, entered


def _too_precise(what: str, places: int, keeper: str, hint: str, unit: str) -> DomainError:
    """The refusal of a value a column cannot hold exactly (422, as `parse_activity`'s): never rounded."""
    return DomainError(
        "TOO_PRECISE",
        f"{what}, more decimals than the {places} {keeper}: {hint}.",
        422,
        {"fields": {"value": [f"At most {places} decimals of {unit}."]}},
    )


def _typed_text(number: Decimal | None, entered: str | None, step: Any) -> str:
    """The value as the person typed it, with the step's value when it was converted:
    '27 mCi (999 MBq)'; '25 mL'."""
    if entered is None:
        return f"{_plain(number or Decimal(0))} {step.unit or activity_unit_of(step) or ''}".strip()
    return f"{entered} ({_plain(number or Decimal(0))} {activity_unit_of(step)})"


def _yield_mbq(step: Any, number: Decimal | None, entered: str | None) -> Decimal | None:
    """A yield step's value as the batch's actual yield in MBq, exactly (a GBq or mCi step converted);
    one the batch's 0.1 MBq cannot hold is refused, never rounded. A yield step in another unit is
    taken as MBq (as before units were checked)."""
    if not step.is_yield or number is None:
        return None
    own = activity_unit_of(step)
    if own is None:
        return number
    exact = convert_activity(number, own, "MBq")
    mbq = exact_decimal(exact, YIELD_PLACES)
    if mbq is None:
        what = f"{entered or f'{_plain(number)} {own}'} is {_plain(exact)} MBq"
        raise _too_precise(what, YIELD_PLACES, "the batch's yield keeps", "round the value you type", "MBq")
    return mbq


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


def step_limits_text(step: Any, reader_unit: str | None = None) -> str:
    """The step's limits for a person: an activity step's in their unit ('13.51–54.05 mCi'); when a
    limit cannot be shown exactly in it, the limits as set follow ('(as set: 500–2000 MBq)'). Other
    steps: `limits_text`, in the step's unit."""
    own = activity_unit_of(step)
    if own is None or reader_unit is None:
        return limits_text(step)
    shown = [
        None if v is None else _shown(Decimal(str(v)), own, reader_unit)
        for v in (step.lower_limit, step.upper_limit)
    ]
    text = _range(*(None if s is None else s[0] for s in shown))
    if all(s is None or s[1] for s in shown):
        return text
    as_set = _range(
        *(
            None if v is None else f"{_plain(Decimal(str(v)), grouped=True)} {own}"
            for v in (step.lower_limit, step.upper_limit)
        )
    )
    return f"{text} (as set: {as_set})"


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

"""QP release rules as pure functions: dispositions, segregation of duties, review by exception,
and the downstream block that dose units, packing and shipments inherit.

No Flask, no SQLAlchemy: the release service gathers the facts, these functions decide.

Dispositions (what the QP signs):
- RELEASE    QP_REVIEW -> RELEASED                ("QP certification: released for human use")
- HOLD       any active state -> ON_HOLD          (QP_REVIEW, and also after release: RELEASED,
                                                   dispensing, packed, dispatched)
- REJECT     QP_REVIEW / ON_HOLD / FAILED_QC -> REJECTED (final)
- LIFT_HOLD  ON_HOLD -> the state it was held in  (back to QP_REVIEW, or, for a hold after release,
                                                   back into the released state: a renewed
                                                   certification)
HOLD, REJECT and LIFT_HOLD need a comment. Every disposition is e-signed.

Who may decide (checked inside the release transaction, before the password is even checked):
- HOLD stops product from reaching patients, so any QP may hold any batch at any time: neither
  segregation of duties nor product authorisation can stand in the way of stopping a batch.
- RELEASE, REJECT and LIFT_HOLD are certification decisions. The QP must be authorised for the
  product, and (when SOD_ENFORCED) must not have entered, corrected or reviewed any QC result of the
  batch: the person certifying the batch is independent of the people who tested it. The check is
  on the person's history, not their current roles, so someone given the QP role after entering
  results is still refused.

Review by exception: `findings()` lists what needs the QP's eyes. EXCEPTION findings are counted
("0 exceptions" when there are none); NOTICE findings are shown but not counted, because they are
expected for a clean batch (after-release tests such as sterility are reported days later by design;
a deviation that was opened and closed is part of the record the QP reads).

Timing window (TIMING exceptions):
- QC not finished: a required before-release test is still pending, or the QC session has not
  passed.
- Release late: now is later than end of synthesis + RELEASE_WINDOW_FRACTION x shelf life
  (default half the shelf life: after that, too little of the product's life is left to dispense
  and deliver it as planned).
- Shelf life over: now is later than end of synthesis + shelf life; the product has expired.
- No end of synthesis recorded: the window cannot be checked.

Downstream inheritance: dose units, packing and shipments belong to a batch and inherit its
disposition. `check_downstream_allowed(batch_status, what)` is the one check their services call
before creating, dispensing, packing or shipping anything (BATCH_BLOCKED while the batch is
ON_HOLD, REJECTED or FAILED_QC; DISPENSING_BEFORE_RELEASE before release).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from app.batches.domain.states import BLOCKING_STATES, HOLDABLE, POST_RELEASE, label
from app.core.domain import DomainError
from app.masterdata.domain.decay import instant_after, seconds_between, to_utc

RELEASE, HOLD, REJECT, LIFT_HOLD = "RELEASE", "HOLD", "REJECT", "LIFT_HOLD"
DISPOSITIONS = (RELEASE, HOLD, REJECT, LIFT_HOLD)
NEEDS_COMMENT = frozenset({HOLD, REJECT, LIFT_HOLD})
# Certification decisions: product authorisation and segregation of duties apply.
CERTIFYING = frozenset({RELEASE, REJECT, LIFT_HOLD})
REVIEW_STATES = ("QP_REVIEW", "ON_HOLD")  # the release queue
READY_STATES = ("QC_PASSED",)  # QC passed, review not started yet (shown in the queue too)

RELEASE_WINDOW_FRACTION = 0.5

EXCEPTION, NOTICE = "EXCEPTION", "NOTICE"


@dataclass(frozen=True)
class DispositionText:
    label: str  # the button
    meaning: str  # what the signature means (fixed per disposition)
    verb: str  # "release", for messages
    impact: str  # shown in the dialog
    danger: bool = False


TEXTS = {
    RELEASE: DispositionText(
        "Release",
        "QP certification: released for human use",
        "release",
        "This will unlock Dispensing.",
    ),
    HOLD: DispositionText(
        "Hold",
        "QP decision: batch placed on hold",
        "hold",
        "Dispensing, packing and dispatch are blocked until a QP lifts the hold.",
        danger=True,
    ),
    REJECT: DispositionText(
        "Reject",
        "QP decision: batch rejected, not for human use",
        "reject",
        "This is final: the batch can never be dispensed or shipped.",
        danger=True,
    ),
    LIFT_HOLD: DispositionText(
        "Lift hold",
        "QP decision: hold lifted",
        "lift the hold on",
        "The batch returns to the state it was held in.",
    ),
}


def text(disposition: str) -> DispositionText:
    return TEXTS[disposition]


def lift_hold_text(prior: str | None) -> DispositionText:
    """Lifting a hold after release puts product back into circulation: a renewed certification."""
    if prior in POST_RELEASE:
        return DispositionText(
            "Lift hold",
            "QP certification: hold lifted, released for human use again",
            "lift the hold on",
            f"The batch returns to {label(prior)}: dispensing, packing and dispatch are unblocked.",
        )
    return DispositionText(
        "Lift hold",
        TEXTS[LIFT_HOLD].meaning,
        TEXTS[LIFT_HOLD].verb,
        f"The batch returns to {label(prior)}.",
    )


def text_for(disposition: str, prior: str | None = None) -> DispositionText:
    return lift_hold_text(prior) if disposition == LIFT_HOLD else TEXTS[disposition]


def parse_disposition(raw: object) -> str:
    value = str(raw or "").strip().upper().replace(" ", "_")
    aliases = {"RELEASED": RELEASE, "ON_HOLD": HOLD, "REJECTED": REJECT, "RESUME": LIFT_HOLD}
    value = aliases.get(value, value)
    if value not in DISPOSITIONS:
        raise DomainError(
            "VALIDATION_ERROR",
            "Choose a disposition: RELEASE, HOLD, REJECT or LIFT_HOLD.",
            422,
            {"fields": {"disposition": ["One of RELEASE, HOLD, REJECT, LIFT_HOLD."]}},
        )
    return value


def target_status(disposition: str, status: str, prior: str | None) -> str:
    """Where the disposition takes a batch in `status`, or the refusal in words."""
    if disposition == RELEASE and status == "QP_REVIEW":
        return "RELEASED"
    if disposition == HOLD and status in HOLDABLE:
        return "ON_HOLD"
    if disposition == REJECT and status in ("QP_REVIEW", "ON_HOLD", "FAILED_QC"):
        return "REJECTED"
    if disposition == LIFT_HOLD and status == "ON_HOLD" and prior:
        return prior
    where = {
        RELEASE: "from QP Review",
        HOLD: "while the batch is active",
        REJECT: "from QP Review, On Hold or Failed QC",
        LIFT_HOLD: "while the batch is on hold",
    }[disposition]
    return _refuse(
        f"A batch in {label(status)} can't be given this disposition: "
        f"{TEXTS[disposition].label.lower()} is possible only {where}."
    )


def _refuse(message: str) -> str:
    raise DomainError("TRANSITION_NOT_ALLOWED", message, 409)


def check_comment(disposition: str, comment: str | None) -> None:
    if disposition in NEEDS_COMMENT and not (comment or "").strip():
        what = TEXTS[disposition].label
        raise DomainError(
            "COMMENT_REQUIRED",
            f"{what} needs a comment: say why, for the batch record.",
            422,
            {"fields": {"comment": ["Required for this disposition."]}},
        )


def check_meaning(disposition: str, meaning: str | None, prior: str | None = None) -> str:
    """The meaning of a disposition signature is fixed; a client may only repeat it."""
    expected = text_for(disposition, prior).meaning
    given = " ".join((meaning or "").split())
    if given and given.casefold() != expected.casefold():
        raise DomainError(
            "VALIDATION_ERROR",
            f"The meaning of this signature is fixed: “{expected}”.",
            422,
            {"fields": {"meaning": [f"Must be “{expected}”."]}},
        )
    return expected


# --- segregation of duties ------------------------------------------------------------------------
@dataclass(frozen=True)
class QcInvolvement:
    """Who took part in the batch's QC (user ids)."""

    entered: frozenset[int] = frozenset()
    corrected: frozenset[int] = frozenset()
    reviewed: frozenset[int] = frozenset()


def sod_refusal(user_id: int | None, involvement: QcInvolvement, disposition: str) -> DomainError | None:
    """The QP who certifies must not have entered, corrected or reviewed QC results of the batch."""
    if disposition not in CERTIFYING or user_id is None:
        return None
    verb = TEXTS[disposition].verb
    for ids, did in (
        (involvement.entered, "entered QC results for"),
        (involvement.corrected, "corrected QC results of"),
        (involvement.reviewed, "reviewed the QC results of"),
    ):
        if user_id in ids:
            return DomainError(
                "SOD_VIOLATION",
                f"You {did} this batch, so another QP must {verb} it.",
                409,
                {"rule": "The certifying QP must not have entered, corrected or reviewed its QC results."},
            )
    return None


def authorisation_refusal(
    authorised_product_ids: Iterable[int], product_id: int, product_name: str, disposition: str
) -> DomainError | None:
    if disposition not in CERTIFYING or product_id in set(authorised_product_ids):
        return None
    return DomainError(
        "RELEASE_NOT_AUTHORISED",
        f"You are not authorised to {TEXTS[disposition].verb} {product_name}. "
        "An administrator grants release rights per product.",
        403,
    )


# --- review by exception --------------------------------------------------------------------------
@dataclass(frozen=True)
class ResultFact:
    result_id: int
    test: str
    required: bool
    timing: str  # BEFORE_RELEASE / AFTER_RELEASE
    status: str  # PENDING / PASS / FAIL / NOT_APPLICABLE
    value: str | None = None
    criteria: str | None = None
    fail_reason: str | None = None
    alert_reason: str | None = None
    overridden: bool = False
    corrections: int = 0
    last_correction_reason: str | None = None


@dataclass(frozen=True)
class ReviewFacts:
    now: dt.datetime
    results: tuple[ResultFact, ...] = ()
    session_status: str | None = None  # None: the batch has no QC session
    session_warning: str | None = None
    open_deviations: tuple[str, ...] = ()
    closed_deviations: tuple[str, ...] = ()
    open_oos: tuple[str, ...] = ()
    production_end_at: dt.datetime | None = None
    shelf_life_min: int | None = None
    window_fraction: float = RELEASE_WINDOW_FRACTION


@dataclass(frozen=True)
class Finding:
    kind: str  # FAILED, ALERT, OVERRIDE, CORRECTED, DEVIATION, OOS, AFTER_RELEASE, TIMING, QC
    severity: str  # EXCEPTION or NOTICE
    title: str
    detail: str = ""
    result_id: int | None = None

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "result_id": self.result_id,
        }


def findings(f: ReviewFacts) -> list[Finding]:
    """Everything that needs the QP's eyes, exceptions first, in a stable order."""
    out: list[Finding] = []
    out += _result_findings(f.results)
    out += [Finding("DEVIATION", EXCEPTION, "Open deviation", d) for d in f.open_deviations]
    out += [Finding("OOS", EXCEPTION, "Open OOS case", o) for o in f.open_oos]
    out += _qc_findings(f)
    out += _timing_findings(f)
    out += [Finding("DEVIATION", NOTICE, "Deviation closed", d) for d in f.closed_deviations]
    pending = [r for r in f.results if r.timing == "AFTER_RELEASE" and r.status == "PENDING"]
    if pending:
        out.append(
            Finding(
                "AFTER_RELEASE",
                NOTICE,
                "After-release tests pending",
                ", ".join(r.test for r in pending)
                + ": results are reported after release; a failure reopens the batch for the QP.",
            )
        )
    return sorted(out, key=lambda x: x.severity != EXCEPTION)


def exception_count(items: Iterable[Finding]) -> int:
    return sum(1 for x in items if x.severity == EXCEPTION)


def _result_findings(results: Iterable[ResultFact]) -> list[Finding]:
    out: list[Finding] = []
    for r in results:
        shown = f"{r.value} (criterion {r.criteria})" if r.value and r.criteria else (r.value or "")
        if r.status == "FAIL":
            after = " (after release)" if r.timing == "AFTER_RELEASE" else ""
            out.append(
                Finding(
                    "FAILED", EXCEPTION, f"Failed: {r.test}{after}", _join(shown, r.fail_reason), r.result_id
                )
            )
        if r.alert_reason:
            out.append(
                Finding(
                    "ALERT", EXCEPTION, f"Alert limit: {r.test}", _join(shown, r.alert_reason), r.result_id
                )
            )
        if r.overridden:
            out.append(
                Finding("OVERRIDE", EXCEPTION, f"Manual pass/fail override: {r.test}", shown, r.result_id)
            )
        if r.corrections:
            times = "once" if r.corrections == 1 else f"{r.corrections} times"
            reason = f"; last reason: {r.last_correction_reason}" if r.last_correction_reason else ""
            out.append(
                Finding(
                    "CORRECTED",
                    EXCEPTION,
                    f"Corrected result: {r.test}",
                    f"Corrected {times}{reason}",
                    r.result_id,
                )
            )
    return out


def _qc_findings(f: ReviewFacts) -> list[Finding]:
    if f.session_status is None:
        return [Finding("QC", EXCEPTION, "No QC session", f.session_warning or "This batch has no QC tests.")]
    out = []
    if f.session_warning:
        out.append(Finding("QC", EXCEPTION, "QC warning", f.session_warning))
    missing = [
        r.test for r in f.results if r.required and r.timing == "BEFORE_RELEASE" and r.status == "PENDING"
    ]
    if missing:
        out.append(Finding("TIMING", EXCEPTION, "QC not finished", "Still pending: " + ", ".join(missing)))
    elif f.session_status not in ("QC_PASSED", "COMPLETED"):
        out.append(
            Finding(
                "TIMING",
                EXCEPTION,
                "QC not finished",
                f"The QC session is {f.session_status.replace('_', ' ').lower()}.",
            )
        )
    return out


def release_window(f: ReviewFacts) -> tuple[dt.datetime, dt.datetime] | None:
    """(latest timely release, shelf-life end) from end of synthesis, or None when unknown."""
    if f.production_end_at is None or not f.shelf_life_min:
        return None
    # On the UTC timeline: adding a timedelta to a zone-aware time adds wall-clock time (wrong across DST).
    return (
        instant_after(f.production_end_at, f.shelf_life_min * f.window_fraction),
        instant_after(f.production_end_at, f.shelf_life_min),
    )


def _timing_findings(f: ReviewFacts) -> list[Finding]:
    if f.production_end_at is None:
        return [
            Finding(
                "TIMING", EXCEPTION, "No end of synthesis recorded", "The release window can't be checked."
            )
        ]
    window = release_window(f)
    if window is None:
        return []
    latest, expiry = window
    since = duration_text(dt.timedelta(seconds=seconds_between(f.production_end_at, f.now)))
    life = duration_text(dt.timedelta(minutes=f.shelf_life_min or 0))
    if to_utc(f.now) >= expiry:
        return [
            Finding(
                "TIMING",
                EXCEPTION,
                "Shelf life over",
                f"End of synthesis was {since} ago; the shelf life is {life}. The product has expired.",
            )
        ]
    if to_utc(f.now) > latest:
        share = round(f.window_fraction * 100)
        return [
            Finding(
                "TIMING",
                EXCEPTION,
                "Release later than the product's window",
                f"End of synthesis was {since} ago; release is expected within {share}% of the "
                f"{life} shelf life ({duration_text(dt.timedelta(seconds=seconds_between(f.production_end_at, latest)))}).",
            )
        ]
    return []


def duration_text(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def _join(*parts: str | None) -> str:
    return " — ".join(p for p in parts if p)


# --- downstream inheritance -----------------------------------------------------------------------
_DOWNSTREAM_WHY = {"FAILED_QC": "QC failed", "ON_HOLD": "Batch on hold", "REJECTED": "Batch rejected"}


def check_downstream_allowed(batch_status: str, what: str) -> None:
    """Dose units, packing and shipments inherit their batch's disposition.

    Call before creating a dose unit, dispensing, packing or shipping anything that belongs to a
    batch (`what` in words: "dispensing", "packing", "dispatch"). Raises BATCH_BLOCKED while the batch
    is on hold, rejected or failed QC, and DISPENSING_BEFORE_RELEASE before it was released.
    """
    if batch_status in BLOCKING_STATES:
        raise DomainError(
            "BATCH_BLOCKED", f"{_DOWNSTREAM_WHY[batch_status]} — batch is blocked from {what}.", 409
        )
    if batch_status not in POST_RELEASE:
        raise DomainError(
            "DISPENSING_BEFORE_RELEASE", "You can't start dispensing before QP releases the batch.", 409
        )

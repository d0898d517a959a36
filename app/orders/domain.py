"""Order rules: the status machine as data, pseudonymous references, validation, lines, planning maths.

Pure functions; no I/O. The transition table is the single source for the service (may this act
happen?), the API, and the buttons on a page (which acts may this user do now?).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from app.core.domain import DomainError, Forbidden, ValidationFailed
from app.masterdata.domain.decay import activity_needed_at
from app.masterdata.domain.units import format_activity_both

UTC = dt.UTC

# --------------------------------------------------------------------------- status machine

DRAFT = "DRAFT"
SUBMITTED = "SUBMITTED"
VALIDATED = "VALIDATED"
SCHEDULED = "SCHEDULED"
IN_PRODUCTION = "IN_PRODUCTION"
RELEASED = "RELEASED"
DISPENSED = "DISPENSED"
SHIPPED = "SHIPPED"
DELIVERED = "DELIVERED"
CANCELLED = "CANCELLED"
REJECTED = "REJECTED"

CUSTOMER = "Customer"
PLANNER = "Planner"
ADMIN = "Admin"
SYSTEM = "system"  # a service acting on another part's event (batch released, shipment delivered)

STATUS_LABELS: dict[str, str] = {
    DRAFT: "Draft",
    SUBMITTED: "Submitted",
    VALIDATED: "Validated",
    SCHEDULED: "Scheduled",
    IN_PRODUCTION: "In production",
    RELEASED: "Released",
    DISPENSED: "Dispensed",
    SHIPPED: "Shipped",
    DELIVERED: "Delivered",
    CANCELLED: "Cancelled",
    REJECTED: "Rejected",
}
STATUSES = tuple(STATUS_LABELS)
FINAL_STATUSES = frozenset({DELIVERED, CANCELLED, REJECTED})


@dataclass(frozen=True)
class Transition:
    trigger: str
    source: str
    dest: str
    actors: frozenset[str]
    needs_reason: bool = False
    label: str = ""


def _t(
    trigger: str, source: str, dest: str, actors: set[str], label: str, needs_reason: bool = False
) -> Transition:
    return Transition(trigger, source, dest, frozenset(actors), needs_reason, label)


# Production steps are driven by the batch, dispensing and logistics parts (SYSTEM), never by a
# button: an order must not claim "Released" unless its batch was released by a QP.
TRANSITIONS: tuple[Transition, ...] = (
    _t("submit", DRAFT, SUBMITTED, {CUSTOMER, ADMIN}, "Submit order"),
    _t("validate", SUBMITTED, VALIDATED, {PLANNER, ADMIN}, "Validate"),
    _t("reject", SUBMITTED, REJECTED, {PLANNER, ADMIN}, "Reject", needs_reason=True),
    _t("schedule", VALIDATED, SCHEDULED, {PLANNER, ADMIN}, "Schedule"),
    _t("start_production", SCHEDULED, IN_PRODUCTION, {SYSTEM}, "Start production"),
    _t("release", IN_PRODUCTION, RELEASED, {SYSTEM}, "Release"),
    _t("dispense", RELEASED, DISPENSED, {SYSTEM}, "Dispense"),
    _t("ship", DISPENSED, SHIPPED, {SYSTEM}, "Ship"),
    _t("deliver", SHIPPED, DELIVERED, {SYSTEM}, "Confirm delivery"),
    _t("cancel", DRAFT, CANCELLED, {CUSTOMER, ADMIN}, "Cancel order", needs_reason=True),
    _t("cancel", SUBMITTED, CANCELLED, {CUSTOMER, PLANNER, ADMIN}, "Cancel order", needs_reason=True),
    # Once validated, minutes and batch plans depend on the order: only the desk cancels.
    _t("cancel", VALIDATED, CANCELLED, {PLANNER, ADMIN}, "Cancel order", needs_reason=True),
    _t("cancel", SCHEDULED, CANCELLED, {PLANNER, ADMIN}, "Cancel order", needs_reason=True),
)
TRIGGERS = tuple(dict.fromkeys(t.trigger for t in TRANSITIONS))

CUSTOMER_STEPS: tuple[tuple[str, str], ...] = (
    ("reservation", "Reservation"),
    ("order", "Order"),
    ("batch", "Batch"),
    ("release", "Release"),
    ("dispensing", "Dispensing"),
    ("shipping", "Shipping"),
    ("delivery", "Delivery"),
)
CUSTOMER_STEP_BY_STATUS: dict[str, str] = {
    DRAFT: "order",
    SUBMITTED: "order",
    VALIDATED: "order",
    SCHEDULED: "batch",
    IN_PRODUCTION: "batch",
    RELEASED: "release",
    DISPENSED: "dispensing",
    SHIPPED: "shipping",
    DELIVERED: "delivery",
    CANCELLED: "order",
    REJECTED: "order",
}


def status_label(status: str) -> str:
    """Human label of a status ('In production'); an unknown status shows as itself."""
    return STATUS_LABELS.get(status, status)


def find_transition(status: str, trigger: str) -> Transition | None:
    return next((t for t in TRANSITIONS if t.source == status and t.trigger == trigger), None)


def check_transition(status: str, trigger: str) -> Transition:
    """The transition `trigger` from `status`, or TRANSITION_NOT_ALLOWED (409) saying why not."""
    transition = find_transition(status, trigger)
    if transition is not None:
        return transition
    if trigger not in TRIGGERS:
        message = f"'{trigger}' is not an action on orders."
    else:
        sources = [status_label(t.source).lower() for t in TRANSITIONS if t.trigger == trigger]
        allowed = " or ".join(filter(None, (", ".join(sources[:-1]), sources[-1])))
        message = (
            f"An order that is {status_label(status).lower()} cannot be {_past(trigger)}; "
            f"this is only possible when it is {allowed}."
        )
    raise DomainError("TRANSITION_NOT_ALLOWED", message, 409, {"status": status, "trigger": trigger})


def _past(trigger: str) -> str:
    words = {
        "submit": "submitted",
        "start_production": "put into production",
        "ship": "shipped",
        "cancel": "cancelled",
    }
    return words.get(trigger, trigger.rstrip("e") + "ed")


def may_perform(transition: Transition, roles: Iterable[str]) -> bool:
    return not transition.actors.isdisjoint(roles)


def check_actor(transition: Transition, roles: Iterable[str]) -> None:
    """Refuse (403) a user none of whose roles may perform this transition."""
    if not may_perform(transition, roles):
        raise Forbidden(f"You may not {transition.label.lower()} at this stage.")


def check_reason(transition: Transition, reason: str | None) -> str | None:
    """Reject and cancel need a written reason (kept in the audit trail); returns it trimmed."""
    text = (reason or "").strip()
    if transition.needs_reason and not text:
        raise ValidationFailed(f"Give a reason to {transition.label.lower()}.", {"reason": "required"})
    return text or None


def available_transitions(status: str, roles: Iterable[str]) -> list[Transition]:
    """The acts this user may do now, in table order: the buttons a page shows."""
    role_set = set(roles)
    return [t for t in TRANSITIONS if t.source == status and may_perform(t, role_set)]


def customer_step(status: str) -> str:
    """The customer-journey step an order status belongs to (reservation -> ... -> delivery)."""
    try:
        return CUSTOMER_STEP_BY_STATUS[status]
    except KeyError:
        raise DomainError("STATUS_UNKNOWN", f"'{status}' is not an order status.", 422) from None


@dataclass(frozen=True)
class JourneyStep:
    key: str
    label: str
    state: str  # done | current | todo | stopped | skipped


def customer_journey(status: str, has_reservation: bool = True) -> list[JourneyStep]:
    """The stepper: steps before the current one are done; a cancelled/rejected order stops at its step."""
    current = customer_step(status)
    keys = [key for key, _ in CUSTOMER_STEPS]
    here = keys.index(current)
    steps = []
    for index, (key, label) in enumerate(CUSTOMER_STEPS):
        if key == "reservation" and not has_reservation:
            state = "skipped"
        elif index < here or (index == here and status == DELIVERED):
            state = "done"
        elif index == here:
            state = "stopped" if status in (CANCELLED, REJECTED) else "current"
        else:
            state = "todo"
        steps.append(JourneyStep(key, label, state))
    return steps


# --------------------------------------------------------------------------- hospital order reference

DEFAULT_REFERENCE_PATTERN = r"[A-Za-z0-9_/-]{3,40}"
FORMULA_PREFIXES = ("=", "+", "-", "@")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_PHONE_ONLY = re.compile(r"\+?[\d\s()-]+")
_PHONE_INTL = re.compile(r"\+\d(?:[\s-]?\d){6,}")
_SEPARATED_DATES = (
    (re.compile(r"(?<!\d)(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?!\d)"), ("y", "m", "d")),
    (re.compile(r"(?<!\d)(\d{1,2})[-./](\d{1,2})[-./](\d{4})(?!\d)"), ("d", "m", "y")),
    (re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](\d{2})(?!\d)"), ("d", "m", "yy")),
)
_COMPACT_DATE = re.compile(r"(?<!\d)(\d{8})(?!\d)")
_LETTERS = re.compile(r"[^\W\d_]{2,}")


def _refuse(why: str, reason: str) -> DomainError:
    return DomainError(
        "REFERENCE_INVALID",
        f"The hospital order reference {why}.",
        422,
        {"field": "hospital_order_reference", "reason": reason},
    )


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2099


def _full_year(parts: Mapping[str, int]) -> int:
    if "y" in parts:
        return parts["y"]
    return parts["yy"] + (2000 if parts["yy"] <= 30 else 1900)


def _separated_date(text: str) -> str | None:
    for regex, order in _SEPARATED_DATES:
        for match in regex.finditer(text):
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            if _is_date(_full_year(parts), parts["m"], parts["d"]):
                return match.group(0)
    return None


def _compact_date(text: str) -> str | None:
    """An 8-digit run next to letters that reads as YYYYMMDD or DDMMYYYY ('JohnSmith19700102')."""
    if not _LETTERS.search(text):
        return None
    for match in _COMPACT_DATE.finditer(text):
        d = match.group(1)
        if _is_date(int(d[:4]), int(d[4:6]), int(d[6:])) or _is_date(int(d[4:]), int(d[2:4]), int(d[:2])):
            return d
    return None


def _looks_like_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return bool(_PHONE_INTL.search(text)) or (_PHONE_ONLY.fullmatch(text) is not None and digits >= 7)


def _pii_refusal(text: str) -> DomainError | None:
    """Why `text` may identify a patient or a person, or None."""
    if _EMAIL.search(text):
        return _refuse("looks like an e-mail address: it must not identify a person", "email")
    date = _separated_date(text) or _compact_date(text)
    if date:
        return _refuse(
            f"looks like a date of birth ({date}): the reference must not identify a patient", "date"
        )
    if _looks_like_phone(text):
        return _refuse(
            "looks like a phone number: it must not identify a person (add the hospital's prefix, e.g. ORD-1234567)",
            "phone",
        )
    return None


@lru_cache(maxsize=16)
def _compiled(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error:
        raise DomainError(
            "REFERENCE_PATTERN_INVALID", "The reference format configured for this site is broken.", 500
        ) from None


def _format_refusal(text: str, pattern: str) -> DomainError | None:
    if _compiled(pattern).fullmatch(text):
        return None
    if pattern != DEFAULT_REFERENCE_PATTERN:
        return _refuse(f"does not have the format set for this site ({pattern})", "format")
    if len(text) < 3 or len(text) > 40:
        return _refuse(f"must be 3 to 40 characters long (it has {len(text)})", "length")
    return _refuse("may contain only letters, digits, '-', '_' and '/'", "characters")


def validate_hospital_order_reference(ref: str, pattern: str = DEFAULT_REFERENCE_PATTERN) -> str:
    """The trimmed reference, or REFERENCE_INVALID (422) saying in plain words why it was refused.

    The ERP stores only a pseudonym: anything that looks like a name with a birth date, an
    e-mail or a phone number is refused (data protection), and so is a leading = + - @, which a
    spreadsheet export would run as a formula. The privacy checks apply whatever the pattern.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise _refuse("is required", "required")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in ref):
        raise _refuse("contains control or invisible characters", "control")
    text = ref.strip()
    pii = _pii_refusal(text)
    if pii:
        raise pii
    if text.startswith(FORMULA_PREFIXES):
        raise _refuse(f"must not start with '{text[0]}': a spreadsheet could run it as a formula", "formula")
    error = _format_refusal(text, pattern)
    if error:
        raise error
    return text


# --------------------------------------------------------------------------- validation checklist


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    ok: bool
    message: str
    code: str


def _licence_item(licence_valid_until: dt.date | None, delivery_date: dt.date) -> ChecklistItem:
    label = "Radioactive-material licence valid on the delivery date"
    if licence_valid_until is None:
        message = "No radioactive-material licence is on file for this customer."
    elif licence_valid_until < delivery_date:
        message = (
            f"The customer's licence is valid until {licence_valid_until.isoformat()}, "
            f"before the delivery date {delivery_date.isoformat()}."
        )
    else:
        message = f"Licence valid until {licence_valid_until.isoformat()}."
    ok = licence_valid_until is not None and licence_valid_until >= delivery_date
    return ChecklistItem("licence", label, ok, message, "LICENCE_EXPIRED")


def validation_checklist(
    licence_valid_until: dt.date | None,
    delivery_date: dt.date,
    product_code: str,
    permitted_codes: Collection[str],
    credit_hold: bool,
) -> list[ChecklistItem]:
    """The validation queue's checklist: licence covers delivery, product permitted, no credit hold.

    A customer may only receive radioactive material its licence covers on the day it arrives.
    """
    permitted = product_code in permitted_codes
    return [
        _licence_item(licence_valid_until, delivery_date),
        ChecklistItem(
            "product",
            "Product permitted by the licence",
            permitted,
            f"{product_code} is permitted."
            if permitted
            else f"{product_code} is not on this customer's permitted products.",
            "PRODUCT_NOT_PERMITTED",
        ),
        ChecklistItem(
            "credit",
            "No credit hold",
            not credit_hold,
            "The customer's account is on credit hold." if credit_hold else "No credit hold.",
            "CREDIT_HOLD",
        ),
    ]


def check_validation(checklist: Sequence[ChecklistItem]) -> None:
    """Raise the first failed item as a DomainError (409) with its code."""
    for item in checklist:
        if not item.ok:
            raise DomainError(item.code, item.message, 409, {"check": item.key})


# --------------------------------------------------------------------------- order lines

MAX_ACTIVITY_MBQ = 1e6


@dataclass(frozen=True)
class OrderLine:
    line_no: int
    requested_activity_mbq: float
    calibration_at: dt.datetime


def _activity_mbq(value: object) -> float | str:
    """The activity as a float, or why it is not acceptable."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return "must be a number of MBq"
    try:
        number = float(value)
    except ValueError:
        return "must be a number of MBq"
    if not math.isfinite(number) or number <= 0:
        return "must be a positive number of MBq"
    if number > MAX_ACTIVITY_MBQ:
        return f"must be at most {format_activity_both(MAX_ACTIVITY_MBQ)}"
    return number


def _calibration_at(value: object) -> dt.datetime | str:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return "must be a date and time"
    if not isinstance(value, dt.datetime):
        return "must be a date and time"
    if value.tzinfo is None or value.utcoffset() is None:
        return "must carry a time zone"
    return value.astimezone(UTC)


def validate_lines(lines: Sequence[Mapping[str, object]], max_lines: int = 200) -> list[OrderLine]:
    """Normalised lines (activity as float MBq, calibration in UTC), or ValidationFailed with every bad field.

    Too many lines are refused, never cut: a dropped line is a patient without a dose.
    """
    if not lines:
        raise ValidationFailed("An order needs at least one line.", {"lines": "required"})
    if len(lines) > max_lines:
        raise ValidationFailed(
            f"An order may have at most {max_lines} lines; this one has {len(lines)}.", {"lines": "too many"}
        )
    fields: dict[str, str] = {}
    result = []
    for index, line in enumerate(lines):
        activity = _activity_mbq(line.get("requested_activity_mbq"))
        calibration = _calibration_at(line.get("calibration_at"))
        if isinstance(activity, str):
            fields[f"lines[{index}].requested_activity_mbq"] = activity
        if isinstance(calibration, str):
            fields[f"lines[{index}].calibration_at"] = calibration
        if isinstance(activity, float) and isinstance(calibration, dt.datetime):
            result.append(OrderLine(index + 1, activity, calibration))
    if fields:
        raise ValidationFailed("Some order lines are not valid.", fields)
    return result


# --------------------------------------------------------------------------- batch planning arithmetic


@dataclass(frozen=True)
class DoseAtEos:
    activity_mbq: float
    calibration_at: dt.datetime
    elapsed_s: float
    decay_factor: float  # 2 ** (elapsed / T½): how many times the dose is needed at EOS
    activity_at_eos_mbq: float


@dataclass(frozen=True)
class EosPlan:
    doses: tuple[DoseAtEos, ...]
    subtotal_mbq: float
    overhead_factor: float
    total_mbq: float


def _positive_finite(value: float | int | Decimal, name: str, code: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise DomainError(code, f"The {name} must be a positive number.", 422)
    return number


def planned_activity_at_eos(
    doses: Iterable[tuple[float, dt.datetime]],
    eos_at: dt.datetime,
    half_life_s: float | int | Decimal,
    overhead_factor: float | int | Decimal,
) -> EosPlan:
    """Activity to make at end of synthesis: each dose decayed back from its calibration to EOS,
    summed, times the overhead factor (QC samples, dead volume, transport losses).

    Elapsed time is taken between UTC instants: two times in the same named zone subtract as
    wall-clock times, which is an hour wrong across a DST change.
    """
    half_life = _positive_finite(half_life_s, "half-life", "INVALID_HALF_LIFE")
    overhead = float(overhead_factor)
    if not math.isfinite(overhead) or overhead < 1:
        raise DomainError("INVALID_OVERHEAD", "The overhead factor must be 1 or more.", 422)
    if eos_at.tzinfo is None or eos_at.utcoffset() is None:
        raise DomainError("NAIVE_DATETIME", "The end of synthesis must carry a time zone.", 422)
    eos = eos_at.astimezone(UTC)
    rows = [_dose_at_eos(activity, calibration_at, eos, half_life) for activity, calibration_at in doses]
    subtotal = sum(row.activity_at_eos_mbq for row in rows)
    return EosPlan(tuple(rows), subtotal, overhead, subtotal * overhead)


def _dose_at_eos(
    activity: float, calibration_at: dt.datetime, eos: dt.datetime, half_life: float
) -> DoseAtEos:
    checked = _calibration_at(calibration_at)
    if isinstance(checked, str):
        raise DomainError("NAIVE_DATETIME", "A dose calibration time must carry a time zone.", 422)
    amount = _positive_finite(activity, "dose activity", "INVALID_ACTIVITY")
    elapsed = (checked - eos).total_seconds()
    if elapsed < 0:
        raise DomainError(
            "CALIBRATION_BEFORE_EOS",
            f"A dose is calibrated for {checked:%Y-%m-%d %H:%M} UTC, before the end of synthesis "
            f"({eos:%Y-%m-%d %H:%M} UTC).",
            422,
        )
    # Both instants are UTC here, so decay's own subtraction is real elapsed time.
    at_eos = activity_needed_at(amount, eos, checked, half_life)
    return DoseAtEos(amount, checked, elapsed, at_eos / amount, at_eos)

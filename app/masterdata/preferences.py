"""A person's display preferences: activities in MBq or mCi (issue 13 item 8).

Activities are stored in MBq everywhere; the preference only changes how they are shown and in which
unit they are typed. The `activity` Jinja filter formats in the signed-in user's unit, and
`parse_activity` turns what was typed in that unit into MBq exactly (1 mCi = 37 MBq by definition, so
a decimal number of mCi is a decimal number of MBq: no rounding, no drift on the way back).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction

from flask import g, has_request_context
from flask_login import current_user

from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.masterdata.domain.units import (
    MBQ_PER_MCI,
    UNITS,
    Exact,
    format_activity,
    format_activity_both,
    mbq_to_mci,
)
from app.masterdata.models import UserPreference

DEFAULT_UNIT = "MBq"


def activity_unit(user_id: int | None) -> str:
    """The unit this person reads activities in (MBq unless they chose mCi)."""
    if user_id is None:
        return DEFAULT_UNIT
    row = db.session.get(UserPreference, user_id)
    return row.activity_unit if row is not None else DEFAULT_UNIT


def current_activity_unit() -> str:
    """The signed-in user's unit, read once per request."""
    if not has_request_context():
        return DEFAULT_UNIT
    cached = g.get("rp_activity_unit")
    if cached is None:
        user_id = current_user.id if getattr(current_user, "is_authenticated", False) else None
        cached = g.rp_activity_unit = activity_unit(user_id)
    return str(cached)


def save_activity_unit(user_id: int, unit: str) -> None:
    """A person chooses the unit they read and type activities in (their own only; MBq or mCi).

    A display choice, not a GMP record: nothing stored changes unit, so there is no audit row (as for
    the e-mail preferences)."""
    if unit not in UNITS:
        raise ValidationFailed("Choose MBq or mCi.", {"activity_unit": ["MBq or mCi."]})
    try:
        row = db.session.get(UserPreference, user_id, with_for_update=True)
        if row is None:
            row = UserPreference(user_id=user_id)
            db.session.add(row)
        row.activity_unit = unit
        row.updated_at = dt.datetime.now(dt.UTC)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if has_request_context():
        g.rp_activity_unit = unit


def activity_filter(mbq: Exact | None, unit: str | None = None) -> str:
    """`{{ batch.planned_activity_mbq | activity }}`: '370 MBq' / '10.00 mCi' / '12.35 GBq'; '—' when
    there is no value (never a false zero)."""
    if mbq is None or mbq == "":
        return "—"
    return format_activity(mbq, unit or current_activity_unit())


def activity_both_filter(mbq: Exact | None) -> str:
    """`{{ dose.measured_activity_mbq | activity_both }}` on documents: '370 MBq (10.00 mCi)' whoever
    prints it (the reader's preference plays no part); '—' when there is no value."""
    if mbq is None or mbq == "":
        return "—"
    return format_activity_both(mbq)


def _exact_mci_text(mbq: Decimal) -> str | None:
    """`mbq` in mCi as a plain decimal when it is one (381.1 MBq -> '10.3'), else None (100 MBq is
    2.7027... mCi, which no finite decimal holds)."""
    mci = Fraction(mbq) / MBQ_PER_MCI
    rest = mci.denominator
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    if rest != 1:
        return None
    with localcontext() as ctx:
        ctx.prec = 60  # enough for any terminating quotient of a stored reading: exact
        return f"{(Decimal(mci.numerator) / Decimal(mci.denominator)).normalize():f}"


def activity_inputs(stored_mbq: Sequence[object | None], unit: str) -> tuple[list[str], str]:
    """Values to put back in a group of activity inputs (e.g. the half-life calculator's two readings)
    for a person who types in `unit`, and the unit the group is shown in.

    In mCi only when every stored value is an exact decimal number of mCi (a reading typed in mCi comes
    back exactly as typed); otherwise the whole group stays in MBq, as stored, with its unit named, so
    saving the page again never changes a recorded value by rounding it."""
    texts = ["" if v is None or v == "" else str(v) for v in stored_mbq]
    if unit != "mCi":
        return texts, DEFAULT_UNIT
    shown = [_exact_mci_text(Decimal(t)) if t else "" for t in texts]
    if any(text is None for text in shown):
        return texts, DEFAULT_UNIT
    return [text or "" for text in shown], "mCi"


def limit_text(mbq: Exact, unit: str) -> str:
    """An upper limit for people typing in `unit`, never above the limit itself: 2,000,000 MBq is
    '2,000.00 GBq' or '54,054 mCi' (whole mCi, rounded down: 54,054.1 mCi would be refused)."""
    if unit == "mCi":
        return f"{math.floor(mbq_to_mci(mbq)):,} mCi"
    return format_activity(mbq, "MBq")


def parse_activity(
    text: object,
    unit: str,
    field: str = "activity",
    places: int | None = None,
    *,
    label: str | None = None,
    at_most: Decimal | None = None,
) -> Decimal:
    """What a person typed in `unit` as MBq, exactly: '10.5' mCi -> 388.5 MBq.

    `places`: the decimals the MBq column keeps; a value that would need more is refused, never cut
    (e.g. 0.0001 mCi = 0.0037 MBq in a column of 1 decimal). `label`: the words for the value in the
    messages (default: `field`, which names it in the details). `at_most`: the largest value in MBq,
    stated in the person's unit when refused."""
    what = label or field
    if unit not in UNITS:
        raise ValidationFailed("Choose MBq or mCi.", {field: ["MBq or mCi."]})
    raw = str(text if text is not None else "").strip()
    if "," in raw:  # "1,000" is a thousand in one country and one in another: ask, never guess
        raise ValidationFailed(
            f"Type the {what} without commas, with a point for decimals (e.g. 10.5).",
            {field: ["No commas."]},
        )
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationFailed(f"The {what} must be a number.", {field: ["Not a number."]}) from None
    if not value.is_finite() or value <= 0:
        raise ValidationFailed(f"The {what} must be above zero.", {field: ["Above zero."]})
    mbq = value * MBQ_PER_MCI if unit == "mCi" else value  # exact: Decimal x integer
    if at_most is not None and mbq > at_most:
        raise ValidationFailed(
            f"The {what} must be at most {limit_text(at_most, unit)}.", {field: ["Too large."]}
        )
    if places is not None and mbq != mbq.quantize(Decimal(1).scaleb(-places)):
        raise DomainError(
            "TOO_PRECISE",
            f"{raw} {unit} is {mbq.normalize():f} MBq, more decimals than the {places} kept: "
            "round the value you type.",
            422,
            {"fields": {field: [f"At most {places} decimals of MBq."]}},
        )
    return mbq


def register_filters(app) -> None:
    app.jinja_env.filters["activity"] = activity_filter
    app.jinja_env.filters["activity_both"] = activity_both_filter
    app.jinja_env.globals["activity_unit"] = current_activity_unit
    app.jinja_env.globals["activity_inputs"] = activity_inputs

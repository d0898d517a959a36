"""Activity units: MBq (SI, what we store) and mCi (what many hospitals order in), and their display.

1 mCi = 37 MBq exactly (1 Ci = 3.7e10 Bq by definition). Conversions are exact rationals
(`Fraction`), so MBq -> mCi -> MBq returns the very number it started from: 370 MBq / 37 = 10 mCi,
and a 100 MBq order (2.7027... mCi) comes back as 100 MBq, not 99.99999.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from app.core.domain import DomainError

Exact = int | float | Decimal | Fraction

MBQ_PER_MCI = 37
GBQ_ABOVE_MBQ = 10_000  # above this a MBq activity is shown in GBq
UNITS = ("MBq", "mCi")
# Units a recorded activity may be kept in (e.g. an eBR step's unit), as MBq per unit: exact integers.
MBQ_PER_UNIT = {"MBq": 1, "GBq": 1000, "mCi": MBQ_PER_MCI}


def _exact(value: Exact, what: str = "activity") -> Fraction:
    try:
        # A float as the decimal it prints as (0.855), not its binary expansion (0.85499999...).
        exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    except (ValueError, OverflowError, TypeError):
        raise DomainError("INVALID_ACTIVITY", f"The {what} must be a number.", 422) from None
    if exact < 0:
        raise DomainError("INVALID_ACTIVITY", f"The {what} must be zero or a positive number.", 422)
    return exact


def mbq_to_mci(mbq: Exact) -> Fraction:
    """x MBq = x / 37 mCi, exactly."""
    return _exact(mbq) / MBQ_PER_MCI


def mci_to_mbq(mci: Exact) -> Fraction:
    """x mCi = 37 · x MBq, exactly."""
    return _exact(mci) * MBQ_PER_MCI


def convert_activity(value: Exact, from_unit: str, to_unit: str) -> Fraction:
    """`value` in `from_unit` as `to_unit`, exactly (both in MBQ_PER_UNIT): 10.5 mCi -> 0.3885 GBq."""
    return _exact(value) * MBQ_PER_UNIT[from_unit] / MBQ_PER_UNIT[to_unit]


def exact_decimal(value: Fraction, max_places: int = 6) -> Decimal | None:
    """`value` as a decimal number when one with at most `max_places` decimals holds it exactly
    (0.3885 -> Decimal('0.3885')), else None (1000/37 = 27.027027... has no end)."""
    scaled = value * 10**max_places
    if scaled.denominator != 1:
        return None
    return Decimal(f"{Decimal(scaled.numerator).scaleb(-max_places).normalize():f}")  # 10, not 1E+1


def _fixed(value: Fraction, places: int) -> str:
    """`value` rounded half-up to `places` decimals, with thousands separators: '1,234.5'."""
    with localcontext() as ctx:
        ctx.prec = 60
        decimal = Decimal(value.numerator) / Decimal(value.denominator)
        ctx.prec = max(60, decimal.adjusted() + places + 2)  # every digit of a huge value, none lost
        rounded = decimal.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{places}f}"


def format_activity(mbq: Exact, unit: str = "MBq") -> str:
    """An activity for people: '370 MBq', '37.5 MBq', '0.85 MBq', '12.35 GBq', '10.00 mCi', '270.3 mCi'.

    MBq: above 10,000 MBq in GBq with 2 decimals; from 100 MBq whole numbers, from 10 MBq one decimal,
    below two. mCi: from 100 mCi one decimal, below two. About three significant figures, which is
    what a dose calibrator reads.
    """
    value = _exact(mbq)
    if unit == "MBq":
        if value > GBQ_ABOVE_MBQ:
            return f"{_fixed(value / 1000, 2)} GBq"
        return f"{_fixed(value, 0 if value >= 100 else 1 if value >= 10 else 2)} MBq"
    if unit == "mCi":
        mci = value / MBQ_PER_MCI
        return f"{_fixed(mci, 1 if mci >= 100 else 2)} mCi"
    raise DomainError("INVALID_UNIT", f"Activities are shown in MBq or mCi, not '{unit}'.", 422)


def format_activity_both(mbq: Exact) -> str:
    """An activity for documents anyone may print (labels, transport document, batch log): MBq first,
    mCi in brackets, whoever prints it: '370 MBq (10.00 mCi)', '12.35 GBq (333.8 mCi)'.

    The SI unit leads (transport and pharmacopoeia texts state activity in Bq); each part is
    `format_activity` of the same exact value, so the two never disagree beyond their rounding.
    """
    return f"{format_activity(mbq, 'MBq')} ({format_activity(mbq, 'mCi')})"

"""Transport classification of a package of radiopharmaceuticals (IAEA SSR-6 (Rev.1), 2018).

Decimal arithmetic throughout: a limit is a legal boundary, and 0.012 mSv/h must give TI 1.2, not
the 1.3 that float noise (1.2000000000000002 rounded up) would print on the label.
Dose rates in mSv/h, activities in MBq, A2 values in TBq (as the regulation tabulates them).

Values here are transcribed for the common cyclotron and generator nuclides; a radiation protection
officer must check them against the printed standard before use, and extend `A2_TBQ` for new nuclides.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from types import MappingProxyType

from app.core.domain import DomainError

Rate = float | int | Decimal

# --- Transport index ----------------------------------------------------------------------------
TI_ZERO_AT_OR_BELOW = Decimal("0.05")  # SSR-6 para 526: a TI of 0.05 or less may be taken as zero
_ONE_DECIMAL = Decimal("0.1")


def _decimal(value: Rate, what: str) -> Decimal:
    # str(): the decimal the instrument showed (0.012), not the binary float's expansion of it.
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite() or number < 0:
        raise DomainError("INVALID_DOSE_RATE", f"The {what} must be zero or a positive number.", 422)
    return number


def transport_index(dose_rate_1m_msv_h: Rate) -> Decimal:
    """TI = maximum dose rate at 1 m from the package surface in mSv/h × 100 (SSR-6 para 523),
    rounded UP to one decimal (1.13 -> 1.2); 0.05 or less counts as 0 (para 526)."""
    exact = _decimal(dose_rate_1m_msv_h, "dose rate at 1 m") * 100
    if exact <= TI_ZERO_AT_OR_BELOW:
        return Decimal("0.0")
    return exact.quantize(_ONE_DECIMAL, rounding=ROUND_CEILING)


# --- Category (label) ---------------------------------------------------------------------------
CATEGORIES = ("I-WHITE", "II-YELLOW", "III-YELLOW")
CATEGORY_LABELS = {
    "I-WHITE": "Category I-WHITE",
    "II-YELLOW": "Category II-YELLOW",
    "III-YELLOW": "Category III-YELLOW",
}
# SSR-6 Table 10, as (upper TI limit, upper surface dose rate limit in mSv/h) per category.
_CATEGORY_LIMITS = (
    ("I-WHITE", Decimal("0"), Decimal("0.005")),
    ("II-YELLOW", Decimal("1"), Decimal("0.5")),
    ("III-YELLOW", Decimal("10"), Decimal("2")),
)


def transport_category(ti: Rate, surface_dose_rate_msv_h: Rate) -> str:
    """The package category by IAEA SSR-6 (Rev.1) Table 10 (categories of packages and overpacks).

    ============  ===============  =================================================
    Category      TI               Maximum dose rate at any point on the surface
    ============  ===============  =================================================
    I-WHITE       0                not more than 0.005 mSv/h
    II-YELLOW     more than 0,     more than 0.005 mSv/h but not more than 0.5 mSv/h
                  not more than 1
    III-YELLOW    more than 1,     more than 0.5 mSv/h but not more than 2 mSv/h
                  not more than 10
    ============  ===============  =================================================

    When the TI and the surface dose rate point to different categories, the higher one decides
    (note to Table 10). `ti` is the rounded value from `transport_index`. Above TI 10 or 2 mSv/h only
    exclusive use is possible, which we do not support: TRANSPORT_LIMIT_EXCEEDED (422).
    """
    index = _decimal(ti, "transport index")
    surface = _decimal(surface_dose_rate_msv_h, "surface dose rate")
    by_ti = next((n for n, (_, top, _s) in enumerate(_CATEGORY_LIMITS) if index <= top), None)
    by_surface = next((n for n, (_, _t, top) in enumerate(_CATEGORY_LIMITS) if surface <= top), None)
    if by_ti is None or by_surface is None:
        raise DomainError(
            "TRANSPORT_LIMIT_EXCEEDED",
            f"TI {index} / {surface} mSv/h at the surface exceed Category III-YELLOW (TI 10, 2 mSv/h); "
            "this package would need exclusive use, which is not supported. Add shielding or split it.",
            422,
        )
    return _CATEGORY_LIMITS[max(by_ti, by_surface)][0]


# --- UN number ----------------------------------------------------------------------------------
# A2 in TBq, IAEA SSR-6 (Rev.1) Table 2 (basic radionuclide values).
A2_TBQ: Mapping[str, Decimal] = MappingProxyType(
    {
        "C-11": Decimal("0.6"),  # IAEA SSR-6 (Rev.1) Table 2
        "N-13": Decimal("0.6"),  # IAEA SSR-6 (Rev.1) Table 2
        "O-15": Decimal("0.6"),  # IAEA SSR-6 (Rev.1) Table 2
        "F-18": Decimal("0.6"),  # IAEA SSR-6 (Rev.1) Table 2
        "Cu-64": Decimal("1"),  # IAEA SSR-6 (Rev.1) Table 2
        "Ga-68": Decimal("0.5"),  # IAEA SSR-6 (Rev.1) Table 2
        "Tc-99m": Decimal("4"),  # IAEA SSR-6 (Rev.1) Table 2
        # Zr-89 is, as far as we know, not listed in Table 2; without a competent-authority approved
        # value SSR-6 Table 3 applies: 0.02 TBq for beta/gamma emitters (deliberately conservative).
        "Zr-89": Decimal("0.02"),  # IAEA SSR-6 (Rev.1) Table 3 (unlisted nuclide) -- verify
    }
)
MBQ_PER_TBQ = 10**6
# SSR-6 Table 4, activity limits for excepted packages, material in LIQUID form: 1e-4 A2 per package
# (solids 1e-3). Radiopharmaceuticals are liquids, so the liquid limit applies.
EXCEPTED_LIQUID_FRACTION_OF_A2 = Fraction(1, 10_000)
EXCEPTED_SURFACE_LIMIT_MSV_H = Decimal("0.005")  # SSR-6 para 516: excepted packages, 5 µSv/h
UN_EXCEPTED = "UN 2910"  # radioactive material, excepted package, limited quantity of material
UN_TYPE_A = "UN 2915"  # radioactive material, Type A package, non-special form, non-fissile


def content_fractions(
    total_activity_mbq_per_nuclide: Mapping[str, Rate], a2_tbq: Mapping[str, Rate] = A2_TBQ
) -> tuple[Fraction, Fraction]:
    """(Σ A_i / (1e-4 · A2_i), Σ A_i / A2_i): the package's share of the excepted-liquid and of the
    Type A limit (the mixture rule: each must be at most 1). Exact rationals, no rounding at the limit."""
    excepted, type_a = Fraction(0), Fraction(0)
    for nuclide, activity in total_activity_mbq_per_nuclide.items():
        if nuclide not in a2_tbq:
            raise DomainError(
                "A2_UNKNOWN",
                f"There is no A2 value for {nuclide}; it can't be classified for transport.",
                422,
            )
        a2_mbq = Fraction(_decimal(a2_tbq[nuclide], f"A2 value of {nuclide}")) * MBQ_PER_TBQ
        if a2_mbq == 0:
            raise DomainError("A2_UNKNOWN", f"The A2 value of {nuclide} must be above zero.", 422)
        share = Fraction(_decimal(activity, f"activity of {nuclide}")) / a2_mbq
        type_a += share
        excepted += share / EXCEPTED_LIQUID_FRACTION_OF_A2
    return excepted, type_a


def un_number(
    total_activity_mbq_per_nuclide: Mapping[str, Rate],
    a2_tbq: Mapping[str, Rate] = A2_TBQ,
    *,
    surface_dose_rate_msv_h: Rate | None = None,
) -> str:
    """UN 2910 (excepted package) or UN 2915 (Type A) for a package of liquid radiopharmaceuticals.

    Excepted (SSR-6 Table 4, liquids): Σ A_i / (1e-4 · A2_i) <= 1, and, when the surface dose rate is
    given, at most 0.005 mSv/h (para 516; the caller must check it when it is not passed).
    Type A: Σ A_i / A2_i <= 1 (mixture rule). Beyond that a Type B package is needed, which we do not
    support: TYPE_B_REQUIRED (422). An empty package is refused (EMPTY_PACKAGE, 422).
    """
    excepted, type_a = content_fractions(total_activity_mbq_per_nuclide, a2_tbq)
    if type_a == 0:
        raise DomainError("EMPTY_PACKAGE", "The package holds no activity.", 422)
    surface_ok = (
        surface_dose_rate_msv_h is None
        or _decimal(surface_dose_rate_msv_h, "surface dose rate") <= EXCEPTED_SURFACE_LIMIT_MSV_H
    )
    if excepted <= 1 and surface_ok:
        return UN_EXCEPTED
    if type_a <= 1:
        return UN_TYPE_A
    raise DomainError(
        "TYPE_B_REQUIRED",
        f"The package holds {float(type_a):.2f} × the Type A limit (Σ A/A2); it would need a Type B "
        "package, which is not supported. Split the doses over more packages.",
        422,
        {"type_a_fraction": float(type_a)},
    )

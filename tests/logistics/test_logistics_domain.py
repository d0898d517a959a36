"""Logistics rules: transport index, category and UN number at their legal limits, and the shipment flow."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.domain import DomainError
from app.logistics import domain as lg

rates = st.decimals(min_value=0, max_value=Decimal("0.2"), places=6, allow_nan=False, allow_infinity=False)
surfaces = st.decimals(min_value=0, max_value=Decimal("2"), places=4, allow_nan=False, allow_infinity=False)
tis = st.sampled_from([Decimal(n) / 10 for n in range(0, 101)])


def refused(code: str, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        call(*args, **kwargs)
    assert info.value.code == code
    return info.value


# --- transport index ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rate", "ti"),
    [
        (0, "0.0"),
        (0.0005, "0.0"),  # TI 0.05: counts as zero
        (0.00051, "0.1"),  # TI 0.051: just above, rounded up
        (0.0113, "1.2"),  # SSR-6's own example: 1.13 becomes 1.2
        (0.012, "1.2"),  # exactly 1.2 stays 1.2 (no float noise rounded up)
        (0.01201, "1.3"),
        (0.1, "10.0"),
    ],
)
def test_transport_index_is_dose_rate_at_1m_times_100_rounded_up(rate, ti):
    assert lg.transport_index(rate) == Decimal(ti)


def test_transport_index_refuses_a_negative_dose_rate():
    assert refused("INVALID_DOSE_RATE", lg.transport_index, -0.001).status == 422


@given(rates)
def test_transport_index_is_never_below_the_exact_value_and_at_most_one_step_above(rate):
    exact = rate * 100
    ti = lg.transport_index(rate)
    if exact <= Decimal("0.05"):
        assert ti == 0
    else:
        assert exact <= ti < exact + Decimal("0.1")


@given(rates, rates)
def test_transport_index_is_monotonic(a, b):
    low, high = sorted((a, b))
    assert lg.transport_index(low) <= lg.transport_index(high)


# --- category -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ti", "surface", "category"),
    [
        (0, 0.005, "I-WHITE"),
        (0, 0.0051, "II-YELLOW"),  # surface decides
        (0.1, 0.001, "II-YELLOW"),  # TI decides
        (1, 0.5, "II-YELLOW"),
        (1.1, 0.5, "III-YELLOW"),
        (1, 0.51, "III-YELLOW"),
        (10, 2, "III-YELLOW"),
    ],
)
def test_category_at_and_across_the_table_10_limits_the_higher_condition_decides(ti, surface, category):
    assert lg.transport_category(ti, surface) == category


@pytest.mark.parametrize(("ti", "surface"), [(10.1, 0.1), (0.5, 2.01)])
def test_category_beyond_iii_yellow_is_refused_exclusive_use_not_supported(ti, surface):
    assert refused("TRANSPORT_LIMIT_EXCEEDED", lg.transport_category, ti, surface).status == 422


@given(tis, tis, surfaces, surfaces)
def test_category_is_monotonic_in_both_inputs(ti_a, ti_b, s_a, s_b):
    rank = {name: n for n, name in enumerate(lg.CATEGORIES)}
    (ti_low, ti_high), (s_low, s_high) = sorted((ti_a, ti_b)), sorted((s_a, s_b))
    low = rank[lg.transport_category(ti_low, s_low)]
    assert low <= rank[lg.transport_category(ti_high, s_low)]
    assert low <= rank[lg.transport_category(ti_low, s_high)]


# --- UN number ----------------------------------------------------------------------------------
def test_a2_values_for_the_common_nuclides():
    assert {k: str(v) for k, v in lg.A2_TBQ.items() if k != "Zr-89"} == {
        "C-11": "0.6",
        "N-13": "0.6",
        "O-15": "0.6",
        "F-18": "0.6",
        "Cu-64": "1",
        "Ga-68": "0.5",
        "Tc-99m": "4",
    }


def test_liquid_up_to_1e_minus_4_a2_is_an_excepted_package():
    # F-18: A2 0.6 TBq -> excepted liquid limit 60 MBq
    assert lg.un_number({"F-18": 60}) == "UN 2910"
    assert lg.un_number({"F-18": 60.001}) == "UN 2915"


def test_excepted_package_needs_a_surface_dose_rate_of_at_most_5_microsievert_per_hour():
    assert lg.un_number({"F-18": 10}, surface_dose_rate_msv_h=0.005) == "UN 2910"
    assert lg.un_number({"F-18": 10}, surface_dose_rate_msv_h=0.0051) == "UN 2915"


def test_up_to_a2_is_a_type_a_package_and_beyond_needs_type_b():
    assert lg.un_number({"F-18": 600_000}) == "UN 2915"
    error = refused("TYPE_B_REQUIRED", lg.un_number, {"F-18": 600_001})
    assert error.status == 422


def test_mixture_rule_sums_the_fractions_of_each_nuclide():
    # half the Type A limit of F-18 plus half of Ga-68 is exactly the limit
    assert lg.un_number({"F-18": 300_000, "Ga-68": 250_000}) == "UN 2915"
    refused("TYPE_B_REQUIRED", lg.un_number, {"F-18": 300_000, "Ga-68": 250_001})
    # 30 MBq F-18 (half its excepted limit) + 25 MBq Ga-68 (half of 50 MBq): still excepted
    assert lg.un_number({"F-18": 30, "Ga-68": 25}) == "UN 2910"
    assert lg.un_number({"F-18": 30, "Ga-68": 25.01}) == "UN 2915"


def test_content_fractions_are_exact():
    excepted, type_a = lg.content_fractions({"Tc-99m": 400})
    assert (excepted, type_a) == (1, Decimal("0.0001"))


def test_un_number_refuses_an_unknown_nuclide_and_an_empty_package():
    refused("A2_UNKNOWN", lg.un_number, {"Lu-177": 7400})
    refused("EMPTY_PACKAGE", lg.un_number, {"F-18": 0})
    refused("EMPTY_PACKAGE", lg.un_number, {})


def test_un_number_accepts_a_custom_a2_table():
    assert lg.un_number({"Lu-177": 70}, {"Lu-177": 0.7}) == "UN 2910"


# --- shipment state machine ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "trigger", "dest", "custody"),
    [
        ("PLANNED", "pack", "PACKED", "PACKED"),
        ("PACKED", "dispatch", "DISPATCHED", "HANDED_TO_COURIER"),
        ("DISPATCHED", "deliver", "DELIVERED", "RECEIVED"),
    ],
)
def test_shipment_moves_along_its_path_recording_custody(status, trigger, dest, custody):
    row = lg.check_shipment_transition(status, trigger)
    assert (row.dest, row.custody) == (dest, custody)


@pytest.mark.parametrize("status", ["PLANNED", "PACKED"])
def test_shipment_can_be_cancelled_in_house_with_a_reason(status):
    assert lg.check_shipment_transition(status, "cancel", "hospital cancelled").dest == "CANCELLED"
    assert refused("NOTE_REQUIRED", lg.check_shipment_transition, status, "cancel").status == 422


@pytest.mark.parametrize("status", ["DISPATCHED", "DELIVERED", "CANCELLED"])
def test_shipment_cannot_be_cancelled_once_with_the_courier(status):
    refused("TRANSITION_NOT_ALLOWED", lg.check_shipment_transition, status, "cancel", "late")


def test_shipment_cannot_skip_packing():
    error = refused("TRANSITION_NOT_ALLOWED", lg.check_shipment_transition, "PLANNED", "dispatch")
    assert error.user_message == (
        "A shipment that is Planned can't be dispatched. Next: pack and seal or cancel shipment."
    )


# --- chain of custody ---------------------------------------------------------------------------
def test_custody_entries_have_labels_in_chain_order():
    assert [lg.custody_label(k) for k in lg.CUSTODY_KINDS] == [
        "Packed and sealed",
        "Handed to courier",
        "Received by the hospital",
    ]


def test_custody_chain_accepts_the_next_link_only():
    lg.check_custody_entry([], "PACKED")
    lg.check_custody_entry(["PACKED"], "HANDED_TO_COURIER")
    error = refused("CUSTODY_OUT_OF_ORDER", lg.check_custody_entry, ["PACKED"], "RECEIVED")
    assert "Handed to courier" in error.user_message
    refused("CUSTODY_OUT_OF_ORDER", lg.check_custody_entry, ["PACKED"], "PACKED")


def test_custody_chain_is_closed_after_receipt_and_unknown_kinds_are_refused():
    assert lg.next_custody_kind(list(lg.CUSTODY_KINDS)) is None
    assert (
        "complete"
        in refused("CUSTODY_OUT_OF_ORDER", lg.check_custody_entry, lg.CUSTODY_KINDS, "RECEIVED").user_message
    )
    refused("INVALID_CUSTODY_KIND", lg.check_custody_entry, [], "LOST")

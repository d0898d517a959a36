"""Dispensing rules: worked examples a radiopharmacist can check by hand, limits, and properties."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.domain import DomainError, ValidationFailed
from app.dispensing import domain as d
from app.masterdata.domain import decay

F18_S = 6586.2  # 109.77 min
TC99M_S = 21624.12  # 6.0067 h
UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
T0 = dt.datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
LATER = T0 + dt.timedelta(hours=8)

half_lives = st.floats(min_value=60.0, max_value=1e7, allow_nan=False, allow_infinity=False)
activities = st.floats(min_value=1e-2, max_value=1e6, allow_nan=False, allow_infinity=False)
offsets_us = st.integers(min_value=-20_000 * 10**6, max_value=20_000 * 10**6)  # datetimes hold microseconds


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def refused(code: str, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        call(*args, **kwargs)
    assert info.value.code == code
    return info.value


# --- elapsed time across DST --------------------------------------------------------------------
def test_elapsed_time_across_spring_dst_is_one_hour_not_two():
    start = dt.datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)  # CET
    end = dt.datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)  # CEST: one real hour later
    assert (end - start).total_seconds() == 7200  # the wall-clock trap this helper avoids
    assert d.elapsed_seconds_utc(start, end) == 3600


def test_elapsed_time_across_autumn_dst_counts_the_repeated_hour():
    start = dt.datetime(2026, 10, 25, 1, 30, tzinfo=BERLIN)
    end = dt.datetime(2026, 10, 25, 3, 30, tzinfo=BERLIN)
    assert d.elapsed_seconds_utc(start, end) == 3 * 3600


def test_elapsed_time_refuses_a_naive_datetime():
    refused("NAIVE_DATETIME", d.elapsed_seconds_utc, dt.datetime(2026, 3, 29, 1, 30), T0)


def test_activity_to_draw_across_dst_uses_real_elapsed_time():
    now = dt.datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)
    calibration = dt.datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)  # one real hour later
    assert d.activity_to_draw_now(400, calibration, now, F18_S) == pytest.approx(400 * 2 ** (3600 / F18_S))


# --- dose state machine -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "trigger", "dest"),
    [
        ("PLANNED", "dispense", "DISPENSED"),
        ("DISPENSED", "pack", "PACKED"),
        ("PACKED", "ship", "SHIPPED"),
        ("SHIPPED", "deliver", "DELIVERED"),
    ],
)
def test_dose_moves_along_its_path(status, trigger, dest):
    assert d.check_dose_transition(status, trigger).dest == dest


def test_dose_cannot_skip_a_step():
    error = refused("TRANSITION_NOT_ALLOWED", d.check_dose_transition, "PLANNED", "ship")
    assert error.user_message == "A dose that is Planned can't be shipped. Next: dispense or cancel dose."
    assert error.status == 409


@pytest.mark.parametrize("status", ["DISPENSED", "PACKED", "SHIPPED", "DELIVERED", "CANCELLED"])
def test_dose_can_be_cancelled_only_while_planned(status):
    refused("TRANSITION_NOT_ALLOWED", d.check_dose_transition, status, "cancel", "broken vial")


def test_dose_cancellation_needs_a_reason():
    assert refused("NOTE_REQUIRED", d.check_dose_transition, "PLANNED", "cancel", "  ").status == 422
    assert d.check_dose_transition("PLANNED", "cancel", "order withdrawn").dest == "CANCELLED"


def test_final_dose_states_offer_no_moves_and_unknown_actions_are_named():
    assert d.allowed_dose_transitions("DELIVERED") == ()
    assert (
        "not an action"
        in refused("TRANSITION_NOT_ALLOWED", d.check_dose_transition, "PLANNED", "x").user_message
    )


# --- release gate -------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["RELEASED", "DISPENSING_IN_PROGRESS"])
def test_dispensing_allowed_from_released_batch(status):
    d.check_can_dispense(status, LATER, T0)


@pytest.mark.parametrize(
    "status",
    ["PLANNED", "SCHEDULED", "IN_PRODUCTION", "QC_PENDING", "QC_IN_PROGRESS", "QC_PASSED", "QP_REVIEW"],
)
def test_dispensing_refused_before_qp_release(status):
    error = refused("DISPENSING_BEFORE_RELEASE", d.check_can_dispense, status, LATER, T0)
    assert (error.user_message, error.status) == (
        "You can't start dispensing before QP releases the batch.",
        409,
    )


@pytest.mark.parametrize("status", ["ON_HOLD", "REJECTED", "FAILED_QC"])
def test_dispensing_refused_from_blocked_batch_quoting_the_qp(status):
    error = refused(
        "BATCH_BLOCKED", d.check_can_dispense, status, LATER, T0, hold_reason="Filter test pending"
    )
    assert "Filter test pending" in error.user_message and error.status == 409


@pytest.mark.parametrize("status", ["DISPENSED", "PACKED", "DISPATCHED", "CLOSED"])
def test_dispensing_refused_once_the_batch_dispensing_is_finished(status):
    refused("DISPENSING_FINISHED", d.check_can_dispense, status, LATER, T0)


def test_dispensing_refused_at_expiry_naming_the_local_time_and_zone():
    expires = dt.datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    d.check_can_dispense("RELEASED", expires, expires - dt.timedelta(seconds=1), tz_name="Europe/Berlin")
    error = refused("EXPIRED", d.check_can_dispense, "RELEASED", expires, expires, tz_name="Europe/Berlin")
    assert "2026-03-29 14:00 CEST (Europe/Berlin)" in error.user_message
    assert error.status == 409


def test_expiry_is_compared_as_instants_not_wall_clocks():
    expires = dt.datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)  # 01:30 UTC
    d.check_can_dispense("RELEASED", expires, dt.datetime(2026, 3, 29, 1, 29, tzinfo=UTC))
    refused("EXPIRED", d.check_can_dispense, "RELEASED", expires, dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    "status", ["RELEASED", "DISPENSING_IN_PROGRESS", "DISPENSED", "PACKED", "DISPATCHED"]
)
def test_packing_and_dispatch_allowed_after_release(status):
    d.check_can_pack_or_dispatch(status, None, LATER, T0, "UTC")


def test_packing_refused_when_batch_put_on_hold_after_release():
    error = refused(
        "BATCH_BLOCKED", d.check_can_pack_or_dispatch, "ON_HOLD", "Sterility doubt", LATER, T0, "UTC"
    )
    assert "Sterility doubt" in error.user_message


def test_packing_refused_before_release_after_close_and_after_expiry():
    refused("BATCH_NOT_RELEASED", d.check_can_pack_or_dispatch, "QP_REVIEW", None, LATER, T0, "UTC")
    refused("BATCH_CLOSED", d.check_can_pack_or_dispatch, "CLOSED", None, LATER, T0, "UTC")
    error = refused("EXPIRED", d.check_can_pack_or_dispatch, "PACKED", None, T0, LATER, "Asia/Riyadh")
    assert "(Asia/Riyadh)" in error.user_message


def test_unknown_time_zone_is_refused():
    refused("INVALID_TIME_ZONE", d.check_can_dispense, "RELEASED", T0, LATER, tz_name="Mars/Olympus")


# --- activity and volume to draw ----------------------------------------------------------------
def test_activity_to_draw_one_half_life_before_calibration_is_double():
    calibration = T0 + dt.timedelta(seconds=F18_S)
    assert d.activity_to_draw_now(370, calibration, T0, F18_S) == pytest.approx(740)


def test_activity_to_draw_after_calibration_is_less():
    assert d.activity_to_draw_now(370, T0, T0 + dt.timedelta(seconds=F18_S), F18_S) == pytest.approx(185)


@given(activities, offsets_us, half_lives)
def test_activity_to_draw_decayed_to_calibration_is_the_ordered_activity(requested, offset_us, half_life):
    calibration = T0 + dt.timedelta(microseconds=offset_us)
    drawn = d.activity_to_draw_now(requested, calibration, T0, half_life)
    assert drawn * decay.decay_factor(offset_us / 1e6, half_life) == pytest.approx(requested, rel=1e-9)


def test_volume_to_draw_from_concentration_decayed_to_now():
    # 1000 MBq/mL measured one half-life ago -> 500 MBq/mL now; 370 MBq wanted now -> 0.74 mL
    assert d.volume_to_draw_ml(
        370, T0, 1000, T0 - dt.timedelta(seconds=F18_S), T0, F18_S, 10
    ) == pytest.approx(0.74)


def test_volume_to_draw_may_take_exactly_what_is_left():
    assert d.volume_to_draw_ml(500, T0, 100, T0, T0, F18_S, 5) == pytest.approx(5)


def test_volume_to_draw_refused_when_vial_volume_is_too_small():
    error = refused("NOT_ENOUGH_ACTIVITY", d.volume_to_draw_ml, 500.01, T0, 100, T0, T0, F18_S, 5)
    assert error.status == 409 and "holds only" in error.user_message


def test_volume_to_draw_refused_when_vial_activity_balance_is_too_small():
    refused("NOT_ENOUGH_ACTIVITY", d.volume_to_draw_ml, 300, T0, 100, T0, T0, F18_S, 5, 299)
    assert d.volume_to_draw_ml(300, T0, 100, T0, T0, F18_S, 5, 300) == pytest.approx(3)


def test_volume_to_draw_refuses_a_zero_order():
    refused("INVALID_ACTIVITY", d.volume_to_draw_ml, 0, T0, 100, T0, T0, F18_S, 5)


# --- vial balance -------------------------------------------------------------------------------
def test_vial_remaining_decays_the_assay_and_each_draw():
    drawn = [(1000.0, T0 + dt.timedelta(seconds=F18_S))]  # drawn one half-life after assay
    left = d.vial_remaining(4000, T0, drawn, T0 + dt.timedelta(seconds=2 * F18_S), F18_S)
    # 4000 -> 1000 after two half-lives; the draw of 1000 one half-life ago would be 500 now
    assert left.remaining_mbq == pytest.approx(500)
    assert not left.exceeded and left.shortfall_mbq == 0


def test_vial_remaining_flags_a_draw_that_exceeds_it_and_never_goes_negative():
    left = d.vial_remaining(1000, T0, [(1200.0, T0)], T0, F18_S)
    assert (left.remaining_mbq, left.exceeded, left.shortfall_mbq) == (0.0, True, pytest.approx(200))


def test_vial_remaining_emptied_exactly_is_not_exceeded():
    left = d.vial_remaining(1000, T0, [(600.0, T0), (400.0, T0)], T0, F18_S)
    assert left.remaining_mbq == pytest.approx(0, abs=1e-9) and not left.exceeded


def test_vial_remaining_refuses_draws_before_the_assay_or_in_the_future():
    refused("DRAW_TIME_OUT_OF_RANGE", d.vial_remaining, 1000, T0, [(1.0, T0 - minutes(1))], LATER, F18_S)
    refused("DRAW_TIME_OUT_OF_RANGE", d.vial_remaining, 1000, T0, [(1.0, LATER + minutes(1))], LATER, F18_S)


@given(activities, st.lists(st.tuples(activities, st.floats(0, 7200)), max_size=6), half_lives)
def test_vial_remaining_is_never_negative(initial, draws, half_life):
    drawn = [(a, T0 + dt.timedelta(seconds=s)) for a, s in draws]
    left = d.vial_remaining(initial, T0, drawn, T0 + dt.timedelta(hours=2), half_life)
    assert left.remaining_mbq >= 0 and left.shortfall_mbq >= 0
    assert left.exceeded == (left.shortfall_mbq > 0)


# --- calibrator reading -------------------------------------------------------------------------
def test_reading_deviation_is_a_signed_fraction():
    assert d.reading_deviation(400, 420) == pytest.approx(0.05)
    assert d.reading_deviation(400, 380) == pytest.approx(-0.05)


@pytest.mark.parametrize("measured", [333, 370, 407])  # -10 %, 0, +10 % of 370
def test_reading_at_the_tolerance_limit_needs_no_note(measured):
    d.check_reading(370, measured)


@pytest.mark.parametrize(("measured", "text"), [(407.4, "10.1% above"), (332.6, "10.1% below")])
def test_reading_outside_tolerance_needs_a_note(measured, text):
    error = refused("READING_OUT_OF_TOLERANCE", d.check_reading, 370, measured)
    assert text in error.user_message and "±10%" in error.user_message and error.status == 422
    assert d.check_reading(370, measured, note="Re-measured; geometry corrected") == pytest.approx(
        (measured - 370) / 370
    )


def test_reading_tolerance_is_configurable():
    d.check_reading(100, 104.9, tolerance=0.05)
    refused("READING_OUT_OF_TOLERANCE", d.check_reading, 100, 105.1, tolerance=0.05)


# --- usable until -------------------------------------------------------------------------------
def test_dose_filled_exactly_to_order_is_usable_until_its_calibration_time():
    calibration = T0 + dt.timedelta(seconds=F18_S)
    result = d.usable_until(LATER, 740, T0, 370, calibration, F18_S)
    assert result.at == calibration and result.limited_by == "ACTIVITY" and not result.short_at_calibration


def test_dose_filled_above_order_lasts_longer_than_calibration():
    result = d.usable_until(LATER, 1480, T0, 370, T0 + dt.timedelta(seconds=F18_S), F18_S)
    assert result.at == T0 + dt.timedelta(seconds=2 * F18_S)


def test_usable_until_is_capped_by_batch_expiry():
    expiry = T0 + minutes(30)
    result = d.usable_until(expiry, 1480, T0, 370, T0 + minutes(20), F18_S)
    assert (result.at, result.limited_by) == (expiry, "EXPIRY")


def test_usable_until_flags_a_dose_below_order_at_calibration():
    result = d.usable_until(LATER, 350, T0, 370, T0, F18_S)
    assert result.at < T0 and result.short_at_calibration


def test_usable_until_survives_a_long_lived_nuclide_far_beyond_the_calendar():
    result = d.usable_until(LATER, 1e300, T0, 1, T0, 1e9)
    assert (result.at, result.limited_by) == (LATER, "EXPIRY")


# --- units --------------------------------------------------------------------------------------
def test_mci_conversion_is_exact_37_mbq_per_mci():
    assert d.mbq_to_mci(370) == 10
    assert d.mci_to_mbq(10) == 370
    assert d.mbq_to_mci(100) == Fraction(100, 37)


@given(st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False, allow_infinity=False))
def test_mbq_to_mci_and_back_has_no_drift(mbq):
    assert d.mci_to_mbq(d.mbq_to_mci(mbq)) == Fraction(mbq)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_mci_to_mbq_and_back_has_no_drift_for_floats(mci):
    assert float(d.mbq_to_mci(d.mci_to_mbq(mci))) == mci


def test_negative_or_non_numeric_activity_is_refused():
    refused("INVALID_ACTIVITY", d.mbq_to_mci, -1)
    refused("INVALID_ACTIVITY", d.mbq_to_mci, math.nan)


@pytest.mark.parametrize(
    ("mbq", "unit", "text"),
    [
        (370, "MBq", "370 MBq"),
        (37.54, "MBq", "37.5 MBq"),
        (0.855, "MBq", "0.86 MBq"),
        (9999.6, "MBq", "10,000 MBq"),
        (10_000, "MBq", "10,000 MBq"),
        (12_345, "MBq", "12.35 GBq"),
        (370, "mCi", "10.00 mCi"),
        (10_000, "mCi", "270.3 mCi"),
        (Decimal("18.5"), "mCi", "0.50 mCi"),
    ],
)
def test_format_activity_chooses_unit_and_decimals(mbq, unit, text):
    assert d.format_activity(mbq, unit) == text


def test_format_activity_refuses_an_unknown_unit():
    refused("INVALID_UNIT", d.format_activity, 370, "Ci")


# --- label --------------------------------------------------------------------------------------
def label(**overrides) -> dict:
    values = {
        "product_name": "[18F]FDG injection",
        "radionuclide": "F-18",
        "batch_number": "FDG-260329-01",
        "dose_unit_id": "DU-000123",
        "activity_mbq_at_calibration": 370,
        "calibration_at": dt.datetime(2026, 3, 29, 8, 0, tzinfo=UTC),
        "volume_ml": 2.5,
        "expires_at": dt.datetime(2026, 3, 29, 14, 0, tzinfo=UTC),
        "half_life_s": F18_S,
        "hospital_order_reference": "HOSP-REF-77",
        "manufacturer_name": "RadioPharma Cyclotron Unit",
        "manufacturer_address": "1 Isotope Way, 10115 Berlin",
        "tz_name": "Europe/Berlin",
    }
    return dict(d.label_fields(**(values | overrides)))


def test_label_fields_carry_everything_a_dose_label_needs():
    fields = label()
    assert fields == {
        "caution": "Caution – Radioactive Material",
        "product": "[18F]FDG injection",
        "radionuclide": "F-18",
        "batch_number": "FDG-260329-01",
        "dose_unit_id": "DU-000123",
        "activity": "370 MBq (10.00 mCi)",
        "calibration": "2026-03-29 10:00 CEST (Europe/Berlin)",
        "volume": "2.50 mL",
        "expiry": "2026-03-29 16:00 CEST (Europe/Berlin)",
        "half_life": "T½ 109.77 min – correct for decay",
        "order_reference": "HOSP-REF-77",
        "manufacturer": "RadioPharma Cyclotron Unit",
        "manufacturer_address": "1 Isotope Way, 10115 Berlin",
    }


def test_label_activity_in_both_units_whoever_prints_it_and_half_life_in_hours():
    fields = label(activity_mbq_at_calibration=Decimal("12345"), half_life_s=TC99M_S)
    assert (
        fields["activity"] == "12.35 GBq (333.6 mCi)"
        and fields["half_life"] == "T½ 6.01 h – correct for decay"
    )
    with pytest.raises(TypeError):  # no unit to choose: the label is the same for every reader
        label(unit="mCi")


@pytest.mark.parametrize(
    ("activity", "lines"),
    [
        ("370 MBq (10.00 mCi)", ("370 MBq", "(10.00 mCi)")),
        ("100.00 GBq (2,702.7 mCi)", ("100.00 GBq", "(2,702.7 mCi)")),
        ("370 MBq", ("370 MBq", "")),  # a label printed before both units were shown
    ],
)
def test_activity_lines_break_between_the_units_never_inside_a_number(activity, lines):
    assert d.activity_lines(activity) == lines


def test_zpl_label_prints_mbq_and_the_mci_on_its_own_line_at_the_same_size():
    zpl = d.zpl_label(label())
    assert "^FO40,390^A0N,48,48^FB732,1,4,L,0^FH^FDActivity: 370 MBq^FS" in zpl
    assert "^A0N,48,48^FB564,1,4,L,0^FH^FD(10.00 mCi)^FS" in zpl
    old = label() | {"activity": "370 MBq"}  # stored before both units: reprinted as it was printed
    reprint = d.zpl_label(old)
    assert "Activity: 370 MBq^FS" in reprint and "mCi" not in reprint


def test_label_refused_without_order_reference_or_volume():
    with pytest.raises(ValidationFailed) as info:
        label(hospital_order_reference=" ", volume_ml=0)
    assert set(info.value.details["fields"]) == {"hospital_order_reference", "volume_ml"}


def test_zpl_label_is_4x6_inch_at_203_dpi_with_qr_of_the_dose_unit():
    zpl = d.zpl_label(label())
    assert zpl.startswith("^XA\n^CI28\n^PW812\n^LL1218\n") and zpl.rstrip().endswith("^XZ")
    assert "^BQN,2,7^FH^FDQA,DU-000123^FS" in zpl
    assert "Batch: FDG-260329-01" in zpl and "Order ref: HOSP-REF-77" in zpl
    assert "Caution _E2_80_93 Radioactive Material" in zpl  # en dash as UTF-8 hex bytes
    assert zpl.count("^FD") == zpl.count("^FH") == zpl.count("^FS")


def test_zpl_escapes_caret_tilde_underscore_and_backslash_in_field_data():
    zpl = d.zpl_label(label(product_name="Evil^XZ~JA_x\\&", dose_unit_id="DU^1"))
    assert "Evil_5EXZ_7EJA_5Fx_5C&" in zpl
    assert "QA,DU_5E1^FS" in zpl
    assert zpl.count("^XZ") == 1 and "~JA" not in zpl


def test_zpl_escape_turns_line_breaks_into_spaces():
    assert d.zpl_escape("1 Isotope Way\r\nBerlin") == "1 Isotope Way Berlin"


def test_zpl_label_refuses_incomplete_label_data():
    fields = label()
    del fields["batch_number"]
    with pytest.raises(ValidationFailed):
        d.zpl_label(fields)

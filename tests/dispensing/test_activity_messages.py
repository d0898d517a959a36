"""Dispensing refusals quote activities in the reader's unit on the page (MBq or mCi) and in both units
in the API (issue 13 item 8): "This dose needs 54.05 mCi now", "the expected 10.00 mCi"."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from app.core.extensions import db
from app.dispensing import domain as d
from app.dispensing import service
from app.dispensing.models import DoseUnit
from tests.activity_unit_factories import prefer
from tests.batch_factories import actor
from tests.conftest import login_page
from tests.dispensing.test_dispensing_domain import refused
from tests.dispensing_factories import order_into, released_batch

JSON = {"Accept": "application/json"}
# A minute ago: the batch moves check the real clock (a batch past its shelf life stops everything).
T0 = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
F18_S = 6586.2
TOLERANCE = "Add a note explaining the difference to accept it."


# --- the pure messages ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("mCi", "The calibrator reading is 35.0% above the expected 10.00 mCi (tolerance ±10%). "),
        ("MBq", "The calibrator reading is 35.0% above the expected 370 MBq (tolerance ±10%). "),
        (None, "The calibrator reading is 35.0% above the expected 370 MBq (10.00 mCi) (tolerance ±10%). "),
    ],
)
def test_reading_refusal_names_the_expected_activity_in_the_unit_asked(unit, expected):
    error = refused("READING_OUT_OF_TOLERANCE", d.check_reading, 370, 499.5, unit=unit)
    assert error.user_message == expected + TOLERANCE
    assert error.details["expected_mbq"] == 370  # the details stay MBq


@pytest.mark.parametrize(
    ("unit", "needs", "holds"),
    [
        ("mCi", "54.05 mCi", "27.03 mCi"),
        ("MBq", "2,000 MBq", "1,000 MBq"),
        (None, "2,000 MBq (54.05 mCi)", "1,000 MBq (27.03 mCi)"),
    ],
)
def test_not_enough_activity_quotes_need_and_balance_in_the_unit_asked(unit, needs, holds):
    # 2000 MBq wanted at calibration (= now) from a vial of 1000 MBq in 10 mL
    error = refused("NOT_ENOUGH_ACTIVITY", d.volume_to_draw_ml, 2000, T0, 100, T0, T0, F18_S, 10, unit=unit)
    assert error.user_message == (
        f"This dose needs {needs} now (20.00 mL), but the vial holds only {holds} (10.00 mL)."
    )
    assert (error.details["needed_mbq"], error.details["left_mbq"]) == (2000, 1000)


def test_large_activities_in_a_message_read_in_gbq_for_a_mbq_reader():
    assert d.activity.activity_text(148_000, "MBq") == "148.00 GBq"
    assert d.activity.activity_text(148_000, "mCi") == "4,000.0 mCi"
    assert d.activity.activity_text(148_000) == "148.00 GBq (4,000.0 mCi)"


# --- the dispensing page and the API ----------------------------------------------------------------
@pytest.fixture
def at_t0(monkeypatch):
    """The service's clock stopped at T0 (the dose's calibration time), so the expected activity is
    exactly what was ordered."""
    monkeypatch.setattr(service, "_now", lambda now: now or T0)


def _dose(ordered: float, yield_mbq: float = 200_000) -> DoseUnit:
    batch = released_batch(end=T0, yield_mbq=yield_mbq)
    order_into(batch, [ordered], calibration_at=T0)
    (dose,) = service.create_dose_units(batch.id, actor("disp"))
    return dose


@pytest.mark.parametrize(
    ("unit", "typed", "expected"),
    [
        ("mCi", "13.5", "35.0% above the expected 10.00 mCi"),
        ("MBq", "499.5", "35.0% above the expected 370 MBq"),
    ],
)
def test_page_reading_refusal_in_the_dispensers_unit(client, app_ctx, at_t0, unit, typed, expected):
    dose = _dose(370)
    prefer("disp", unit)
    login_page(client, "disp")
    r = client.post(f"/dispensing/doses/{dose.id}/dispense", data={"reading": typed}, headers=JSON)
    assert r.status_code == 422 and r.get_json()["code"] == "READING_OUT_OF_TOLERANCE"
    assert (
        r.get_json()["userMessage"] == f"The calibrator reading is {expected} (tolerance ±10%). {TOLERANCE}"
    )


def test_page_toggle_unit_wins_over_the_preference_in_messages(client, app_ctx, at_t0):
    dose = _dose(370)
    prefer("disp", "MBq")
    login_page(client, "disp")
    r = client.post(
        f"/dispensing/doses/{dose.id}/dispense", data={"reading": "13.5", "unit": "mCi"}, headers=JSON
    )
    assert "the expected 10.00 mCi (tolerance" in r.get_json()["userMessage"]


def test_reading_typed_in_mci_within_tolerance_is_stored_in_exact_mbq(client, app_ctx, at_t0):
    dose = _dose(370)
    prefer("disp", "mCi")
    login_page(client, "disp")
    r = client.post(f"/dispensing/doses/{dose.id}/dispense", data={"reading": "10.3"})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    db.session.expire_all()
    stored = db.session.get(DoseUnit, dose.id)
    assert (stored.status, stored.measured_activity_mbq) == ("DISPENSED", Decimal("381.1"))


def test_api_reading_refusal_names_both_units(api, app_ctx, at_t0):
    dose = _dose(370)
    prefer("disp", "mCi")  # the API answers the same whoever asks
    r = api("disp").post(f"/api/v1/dose-units/{dose.id}/dispense", json={"measured_activity_mbq": 499.5})
    assert r.status_code == 422, r.get_json()
    assert "the expected 370 MBq (10.00 mCi) (tolerance ±10%)" in r.get_json()["userMessage"]


@pytest.mark.parametrize(("unit", "needs"), [("mCi", r"[\d.,]+ mCi"), ("MBq", r"[\d.,]+ [MG]Bq")])
def test_dispensing_page_shows_a_dose_the_vial_cannot_give_in_the_readers_unit(client, app_ctx, unit, needs):
    batch = released_batch(yield_mbq=1000)
    order_into(batch, [5000])
    service.create_dose_units(batch.id, actor("disp"))
    prefer("disp", unit)
    login_page(client, "disp")
    page = client.get(f"/dispensing/batches/{batch.id}").get_data(as_text=True)
    shown = re.search(r"This dose needs .*? \([\d.]+ mL\)\.", page)
    assert shown, page[-3000:]
    assert re.fullmatch(
        rf"This dose needs {needs} now \([\d.]+ mL\), but the vial holds only {needs} \([\d.]+ mL\)\.",
        shown.group(0),
    )
    other = "MBq" if unit == "mCi" else "mCi"
    assert other not in shown.group(0)


def test_an_absurdly_decayed_back_activity_still_gets_its_refusal():
    """600 one-minute half-lives before calibration: 2^600 times the order, far beyond 60 digits."""
    later = T0 + dt.timedelta(minutes=600)
    error = refused("NOT_ENOUGH_ACTIVITY", d.volume_to_draw_ml, 10_000, later, 10, T0, T0, 60, 1, unit="mCi")
    assert error.user_message.startswith("This dose needs ") and " mCi now (" in error.user_message
    assert d.activity.activity_text(float("inf"), "mCi") == "inf MBq"

"""Pure master data rules: field messages and licence status."""

from __future__ import annotations

import datetime as dt

import pytest

from app.masterdata import domain as rules

TODAY = dt.date(2026, 11, 22)


def test_valid_product_has_no_errors():
    values = {"code": "FDG", "dose_form": "MULTIDOSE_VIAL", "shelf_life_min": 600, "max_volume_ml": None}
    assert rules.validate_product(values) == {}


@pytest.mark.parametrize("code", ["fdg", "F", "FDG 2", "", None, "-FDG"])
def test_product_code_must_fit_in_a_batch_number(code):
    errors = rules.validate_product({"code": code, "dose_form": "KIT", "shelf_life_min": 10})
    assert "code" in errors


@pytest.mark.parametrize("shelf", [0, -5, None, "abc"])
def test_shelf_life_must_be_positive_minutes(shelf):
    errors = rules.validate_product({"code": "FDG", "dose_form": "KIT", "shelf_life_min": shelf})
    assert "shelf_life_min" in errors


@pytest.mark.parametrize("symbol", ["F-18", "Ga-68", "Tc-99m", "Lu-177", "N-13"])
def test_nuclide_symbols_accepted(symbol):
    assert rules.validate_nuclide({"symbol": symbol, "half_life_s": 1, "half_life_source": "NuDat"}) == {}


def test_nuclide_needs_positive_half_life_and_a_source():
    errors = rules.validate_nuclide({"symbol": "F18", "half_life_s": 0, "half_life_source": " "})
    assert set(errors) == {"symbol", "half_life_s", "half_life_source"}


def test_customer_needs_licence_valid_timezone_and_email():
    errors = rules.validate_customer(
        {"licence_number": "", "licence_expiry": None, "contact_email": "nope", "timezone": "Mars/Olympus"}
    )
    assert set(errors) == {"licence_number", "licence_expiry", "contact_email", "timezone"}


@pytest.mark.parametrize(
    ("expiry", "status", "days"),
    [
        (None, "unknown", None),
        (TODAY - dt.timedelta(days=1), "expired", -1),
        (TODAY, "expiring", 0),
        (TODAY + dt.timedelta(days=30), "expiring", 30),
        (TODAY + dt.timedelta(days=31), "valid", 31),
    ],
)
def test_licence_status(expiry, status, days):
    assert rules.licence_status(expiry, TODAY) == (status, days)


def test_model_check_constraint_matches_lot_statuses():
    from app.masterdata.models import MaterialLot

    check = next(c for c in MaterialLot.__table__.constraints if c.name == "ck_material_lot_status")
    assert all(f"'{s}'" in str(check.sqltext) for s in rules.LOT_STATUSES)

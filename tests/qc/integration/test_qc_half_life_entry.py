"""The half-life calculator's readings are recorded with the result; the verdict is on the computed T½."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.core.extensions import db
from app.qc import service as qc
from app.qc.models import BatchQcResultValue
from tests.qc_factories import actor, make_batch, results_by_code

pytestmark = pytest.mark.usefixtures("app_ctx")


def _readings(minutes: float, a2: float) -> list[dict[str, str]]:
    t0 = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
    return [
        {"at": t0.isoformat(), "mbq": "1000"},
        {"at": (t0 + dt.timedelta(minutes=minutes)).isoformat(), "mbq": f"{a2:.3f}"},
    ]


def test_identity_from_two_readings_passes_and_keeps_both_readings():
    batch = make_batch("FDG")
    row = results_by_code(batch.id)["RNID"]
    qc.record_qc_result(
        batch.id, row.id, {"readings": _readings(30, 1000 * 2 ** (-30 / 109.77))}, actor=actor("qc")
    )
    db.session.refresh(row)
    assert row.status == "PASS" and abs(float(row.numeric_value) - 109.77) < 0.01
    assert [r["mbq"] for r in row.readings["readings"]] == ["1000", "827.425"]
    value = db.session.execute(
        select(BatchQcResultValue).where(BatchQcResultValue.result_id == row.id)
    ).scalar_one()
    assert value.readings == row.readings and value.numeric_value == row.numeric_value


def test_identity_from_readings_of_the_wrong_nuclide_fails():
    batch = make_batch("FDG")
    row = results_by_code(batch.id)["RNID"]
    # Ga-68 (67.7 min) in an FDG vial: the computed half-life is outside 105–115 min.
    qc.record_qc_result(
        batch.id, row.id, {"readings": _readings(30, 1000 * 2 ** (-30 / 67.7))}, actor=actor("qc")
    )
    db.session.refresh(row)
    assert row.status == "FAIL" and "Out of range" in row.fail_reason


def test_computed_half_life_is_shown_at_the_tests_decimals_typed_values_as_typed():
    from app.qc.queries import result_dict

    batch = make_batch("FDG")
    rows = results_by_code(batch.id)
    rnid, ph = rows["RNID"], rows["PH"]
    qc.record_qc_result(
        batch.id, rnid.id, {"readings": _readings(30, 1000 * 2 ** (-30 / 109.77))}, actor=actor("qc")
    )
    qc.record_qc_result(batch.id, ph.id, {"numeric_value": "6.25"}, actor=actor("qc"))
    db.session.refresh(rnid)
    db.session.refresh(ph)
    assert len(f"{rnid.numeric_value:f}".split(".")[1]) == 6  # kept to 6 decimals
    assert result_dict(rnid)["numeric_value"] == "109.8"  # shown at the test's 1 decimal
    assert result_dict(ph)["numeric_value"] == "6.25"  # a typed value stays as the analyst typed it

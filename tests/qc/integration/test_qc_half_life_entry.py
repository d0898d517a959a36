"""The half-life calculator's readings are recorded with the result; the verdict is on the computed T½."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

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


# --- the readings in the analyst's unit (issue 13 item 8) -----------------------------------------------
def _page_form(page: str, rid: int) -> dict[str, str]:
    """The result and half-life calculator inputs of row `rid` as the page filled them."""

    found = dict(re.findall(rf'name="((?:numeric|hl_unit|hl_t1|hl_t2)_{rid})"[^>]*?value="([^"]*)"', page))
    found.update(re.findall(rf'name="(hl_a[12]_{rid})" placeholder="[^"]*" value="([^"]*)"', page))
    return found


def test_readings_typed_in_mci_are_kept_in_exact_mbq_and_shown_back_as_typed(client):
    from tests.activity_unit_factories import prefer
    from tests.conftest import login_page

    batch = make_batch("FDG")
    rid = results_by_code(batch.id)["RNID"].id
    prefer("qc", "mCi")
    login_page(client, "qc")
    page = client.get(f"/batches/{batch.id}/qc").get_data(as_text=True)
    assert f'name="hl_unit_{rid}" value="mCi"' in page and 'placeholder="mCi"' in page
    a2 = 27.027 * 2 ** (-30 / 109.77)  # 1000 MBq = 27.027 mCi, 30 min of F-18 later
    form = {
        f"numeric_{rid}": "109.8",  # what the page's preview puts there; the server recomputes
        f"hl_unit_{rid}": "mCi",
        f"hl_t1_{rid}": "2026-11-29T11:00:00",
        f"hl_a1_{rid}": "27.027",
        f"hl_t2_{rid}": "2026-11-29T11:30:00",
        f"hl_a2_{rid}": f"{a2:.4f}",
        "intent": "save",
    }
    r = client.post(f"/batches/{batch.id}/qc/save", data=form, follow_redirects=True)
    assert "Draft saved: 1 result recorded." in r.get_data(as_text=True)
    row = results_by_code(batch.id)["RNID"]
    db.session.refresh(row)
    exact = [f"{Decimal('27.027') * 37:f}", f"{Decimal(f'{a2:.4f}') * 37:f}"]  # 999.999, x.xxxx * 37
    assert [x["mbq"] for x in row.readings["readings"]] == exact
    assert row.status == "PASS" and abs(float(row.numeric_value) - 109.77) < 0.01
    page = client.get(f"/batches/{batch.id}/qc").get_data(as_text=True)
    shown = _page_form(page, rid)
    assert (shown[f"hl_unit_{rid}"], shown[f"hl_a1_{rid}"], shown[f"hl_a2_{rid}"]) == (
        "mCi",
        "27.027",
        f"{a2:.4f}",
    )
    # the page saved again as it was shown: nothing changes (no drift, no correction asked for)
    again = client.post(
        f"/batches/{batch.id}/qc/save", data={**shown, "intent": "save"}, follow_redirects=True
    )
    assert "Nothing changed." in again.get_data(as_text=True)


def test_readings_recorded_in_mbq_stay_in_mbq_for_a_mci_reader(client):
    from tests.activity_unit_factories import prefer
    from tests.conftest import login_page

    batch = make_batch("FDG")
    row = results_by_code(batch.id)["RNID"]
    qc.record_qc_result(
        batch.id, row.id, {"readings": _readings(30, 1000 * 2 ** (-30 / 109.77))}, actor=actor("qc")
    )
    prefer("qc", "mCi")
    login_page(client, "qc")
    page = client.get(f"/batches/{batch.id}/qc").get_data(as_text=True)
    shown = _page_form(page, row.id)
    # 1000 MBq is 27.027027... mCi: shown in MBq as recorded, the unit named, never rounded
    assert (shown[f"hl_unit_{row.id}"], shown[f"hl_a1_{row.id}"], shown[f"hl_a2_{row.id}"]) == (
        "MBq",
        "1000",
        "827.425",
    )
    again = client.post(
        f"/batches/{batch.id}/qc/save", data={**shown, "intent": "save"}, follow_redirects=True
    )
    assert "Nothing changed." in again.get_data(as_text=True)

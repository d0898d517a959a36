"""Activities on the dispensing screen in the reader's unit, and dose labels in both units whoever
prints them (issue 13 item 8): '370 MBq (10.00 mCi)' on the PDF sheet and the ZPL alike."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.core.extensions import db
from app.dispensing import service
from app.dispensing.domain import activity_to_draw_now
from app.dispensing.models import DoseUnit
from tests.activity_unit_factories import pdf_text, prefer
from tests.batch_factories import actor
from tests.conftest import login_page
from tests.dispensing_factories import order_into, released_batch

pytestmark = pytest.mark.usefixtures("app_ctx")
F18 = 6586.2


def test_vial_concentration_follows_the_readers_unit(client):
    batch = released_batch()
    prefer("disp", "mCi")
    login_page(client, "disp")
    page = client.get(f"/dispensing/batches/{batch.id}").get_data(as_text=True)
    assert re.search(r"[\d.,]+ mCi/mL</bdi> now", page) and "MBq/mL" not in page
    toggled = client.get(f"/dispensing/batches/{batch.id}?unit=MBq").get_data(as_text=True)
    assert re.search(r"[\d.,]+ [MG]Bq/mL</bdi> now", toggled) and "mCi/mL" not in toggled


def test_label_shows_both_units_the_same_for_a_mci_and_a_mbq_reader(client, api):
    batch = released_batch()
    order_into(batch, [370, 18_500], ref="KFSH-UNITS-1")
    prefer("disp", "mCi")  # the dispenser reads mCi; the label must not follow them
    prefer("logi", "MBq")
    doses = service.create_dose_units(batch.id, actor("disp"))
    login_page(client, "disp")
    now = dt.datetime.now(dt.UTC)
    for dose in doses:
        reading = round(
            activity_to_draw_now(dose.activity_at_calibration_mbq, dose.calibration_at, now, F18), 1
        )
        done = client.post(
            f"/dispensing/doses/{dose.id}/dispense", data={"unit": "MBq", "reading": f"{reading}"}
        )
        assert done.status_code == 302, done.get_data(as_text=True)[:300]
    db.session.expire_all()
    stored = sorted(db.session.get(DoseUnit, d.id).label_data["activity"] for d in doses)
    assert stored == ["18.50 GBq (500.0 mCi)", "370 MBq (10.00 mCi)"]

    sheets = {who: api(who).get(f"/api/v1/batches/{batch.id}/labels.pdf") for who in ("disp", "logi")}
    assert all(r.status_code == 200 and r.data.startswith(b"%PDF") for r in sheets.values())
    texts = {who: pdf_text(r.data) for who, r in sheets.items()}
    assert texts["disp"] == texts["logi"]
    for expected in ("370 MBq", "(10.00 mCi)", "18.50 GBq", "(500.0 mCi)"):
        assert expected in texts["disp"], expected

    zpls = {who: api(who).get(f"/api/v1/dose-units/{doses[0].id}/label.zpl").data for who in ("disp", "logi")}
    assert zpls["disp"] == zpls["logi"]
    assert b"^FDActivity: 370 MBq^FS" in zpls["disp"] and b"^FD(10.00 mCi)^FS" in zpls["disp"]

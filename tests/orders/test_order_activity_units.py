"""Order entry refusals in the person's unit (issue 13 item 8): the page names the dose and states the
limit in MBq or mCi; the API's field message gives the limit in both units."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.core.extensions import db
from app.orders.models import Order
from tests import order_factories as of
from tests.activity_unit_factories import prefer
from tests.conftest import login_page

pytestmark = pytest.mark.usefixtures("app_ctx")


def _post(client, unit: str, typed: str, ref: str):
    window = of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))
    hold = of.hold(window, 1, now=dt.datetime.now(dt.UTC))
    prefer("hospital", unit)
    login_page(client, "hospital")
    form = {
        "reservation_id": str(hold.id),
        "hospital_order_reference": ref,
        "mbq": typed,
        "calibration_local": "2030-06-03T21:00",
        "line_reference": "",
    }
    return client.post("/orders/new", data=form)


@pytest.mark.parametrize(
    ("unit", "typed", "message"),
    [
        ("mCi", "30000", "The activity of dose 1 must be at most 27,027 mCi."),
        ("MBq", "1000000.1", "The activity of dose 1 must be at most 1,000.00 GBq."),
        ("mCi", "-2", "The activity of dose 1 must be above zero."),
        ("mCi", "10.55", "10.55 mCi is 390.35 MBq, more decimals than the 1 kept: round the value you type."),
    ],
)
def test_order_page_refusals_state_the_activity_in_the_persons_unit(client, unit, typed, message):
    page = _post(client, unit, typed, "KF-U-BAD")
    assert page.status_code == 422
    assert f"<strong>{message}</strong>" in page.get_data(as_text=True)
    assert db.session.query(Order).filter_by(hospital_order_reference="KF-U-BAD").count() == 0


@pytest.mark.parametrize(
    ("unit", "typed", "mbq"), [("mCi", "27027", "999999"), ("MBq", "1000000", "1000000")]
)
def test_the_largest_order_in_either_unit_is_taken_exactly(client, unit, typed, mbq):
    done = _post(client, unit, typed, f"KF-U-MAX-{unit}")
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    order = db.session.query(Order).filter_by(hospital_order_reference=f"KF-U-MAX-{unit}").one()
    assert [line.requested_activity_mbq for line in order.lines] == [Decimal(mbq)]


def test_order_form_caps_the_input_in_the_persons_unit(client):
    prefer("hospital", "mCi")
    login_page(client, "hospital")
    assert 'max="27027" step="0.1" aria-label="Activity in mCi"' in client.get("/orders/new").get_data(
        as_text=True
    )


def test_api_limit_message_names_both_units(api):
    window = of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))
    hold = of.hold(window, 1, now=dt.datetime.now(dt.UTC))
    r = api("hospital").post(
        "/api/v1/orders",
        json={"reservation_id": hold.id, "hospital_order_reference": "KF-U-API",
              "lines": [{"requested_activity_mbq": 1_000_001, "calibration_at": "2030-06-03T21:00:00+03:00"}]},
    )  # fmt: skip
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["details"]["fields"] == {
        "lines[0].requested_activity_mbq": "must be at most 1,000.00 GBq (27,027.0 mCi)"
    }

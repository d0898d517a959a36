"""Order and planner pages render for the right roles and show refusals in place."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core.extensions import db
from app.orders.models import Order
from tests import order_factories as of
from tests.conftest import login_page

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def window(app_ctx):
    return of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))


def test_new_order_page_from_reservation_and_refusal_in_place(client, window):
    r = of.hold(window, 1, now=dt.datetime.now(dt.UTC))
    login_page(client, "hospital")
    page = client.get(f"/orders/new?reservation_id={r.id}")
    assert page.status_code == 200 and r.reference in page.get_data(as_text=True)
    form = {
        "reservation_id": str(r.id),
        "hospital_order_reference": "jane.doe@example.org",
        "mbq": "370",
        "calibration_local": "2030-06-03T21:00",
        "line_reference": "",
    }
    refused = client.post("/orders/new", data=form)
    assert refused.status_code == 422
    assert "looks like an e-mail address" in refused.get_data(as_text=True)
    form["hospital_order_reference"] = "KF-PAGE-1"
    done = client.post("/orders/new", data=form)
    assert done.status_code == 302
    order = db.session.query(Order).filter_by(hospital_order_reference="KF-PAGE-1").one()
    journey = client.get(done.headers["Location"]).get_data(as_text=True)
    assert order.order_no in journey and "What happens next" in journey and "not recorded yet" in journey
    assert client.get("/orders/").status_code == 200
    assert client.get("/orders/validation/").status_code in (302, 403)


def test_validation_queue_and_planner_pages_for_planner(client, window):
    order = of.order_from_hold(window, 1, "KF-PAGE-2", now=dt.datetime.now(dt.UTC))
    login_page(client, "planner")
    queue = client.get("/orders/validation/").get_data(as_text=True)
    assert order.order_no in queue and "Licence" in queue
    done = client.post(f"/orders/{order.id}/act", data={"trigger": "validate", "next": "/orders/validation/"})
    assert done.status_code == 302
    assert db.session.get(Order, order.id).status == "VALIDATED"
    page = client.get(f"/planner/?date={of.DAY.isoformat()}&order_id={order.id}&eos=2030-06-03T10:00")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Planned activity at end of synthesis" in text and "1.15" in text
    assert "chart.umd.min.js" in text
    planned = client.post(
        "/planner/plan",
        data={"order_id": str(order.id), "eos": "2030-06-03T10:00", "date": of.DAY.isoformat()},
    )
    assert planned.status_code == 302 and planned.headers["Location"].startswith("/batches/")
    assert db.session.get(Order, order.id).status == "SCHEDULED"
    batch_page = client.get(planned.headers["Location"] + "?tab=orders").get_data(as_text=True)
    assert order.order_no in batch_page

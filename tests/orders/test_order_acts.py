"""The order page's acts need their own permissions (validate, reject, cancel), the journey keeps its
acts in an Actions panel with a confirmation dialog, and "New order" is in the menu only for roles
that may create orders."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core.extensions import db
from app.orders.models import Order
from app.security.roles import MATRIX
from tests import order_factories as of
from tests.conftest import login_page

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def window(app_ctx):
    return of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))


def test_role_matrix_names_each_order_act():
    assert {"can_validate", "can_reject", "can_cancel"} <= set(MATRIX["Planner"]["Order"])
    assert "can_cancel" in MATRIX["Customer"]["Order"]
    assert not {"can_validate", "can_reject"} & set(MATRIX["Customer"]["Order"])
    assert "Order" in MATRIX["QP"] and set(MATRIX["QP"]["Order"]) == {"can_read"}


def test_hospital_cannot_validate_or_reject_through_the_page(client, window):
    order = of.order_from_hold(window, 1, "KF-ACT-1", now=dt.datetime.now(dt.UTC))
    login_page(client, "hospital")
    for trigger in ("validate", "reject"):
        r = client.post(f"/orders/{order.id}/act", data={"trigger": trigger, "reason": "x"})
        assert r.status_code == 302
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        assert f"You may not {trigger} orders." in page
        assert db.session.get(Order, order.id).status == "SUBMITTED"


def test_reader_without_act_permissions_is_refused(client, window):
    order = of.order_from_hold(window, 1, "KF-ACT-2", now=dt.datetime.now(dt.UTC))
    login_page(client, "qp")
    r = client.post(f"/orders/{order.id}/act", data={"trigger": "cancel", "reason": "not mine"})
    assert r.status_code == 302
    assert "You may not cancel orders." in client.get(r.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Order, order.id).status == "SUBMITTED"


def test_planner_rejects_and_hospital_cancels_with_a_reason(client, window):
    rejected = of.order_from_hold(window, 1, "KF-ACT-3", now=dt.datetime.now(dt.UTC))
    cancelled = of.order_from_hold(window, 1, "KF-ACT-4", now=dt.datetime.now(dt.UTC))
    login_page(client, "planner")
    client.post(f"/orders/{rejected.id}/act", data={"trigger": "reject", "reason": "licence expired"})
    assert db.session.get(Order, rejected.id).status == "REJECTED"
    client.get("/logout/")
    login_page(client, "hospital")
    journey = client.get(f"/orders/{cancelled.id}").get_data(as_text=True)
    # The act sits in its own Actions panel, away from the stepper, behind a dialog asking the reason.
    actions = journey.index('id="rp-order-actions"')
    assert journey.index('class="rp-stepper"') < actions
    assert 'data-target="#rp-act-cancel"' in journey[actions:]
    dialog = journey[journey.index('id="rp-act-cancel"') :]
    assert 'name="reason"' in dialog.split("</form>")[0] and "required" in dialog.split("</form>")[0]
    client.post(f"/orders/{cancelled.id}/act", data={"trigger": "cancel", "reason": "patient rescheduled"})
    assert db.session.get(Order, cancelled.id).status == "CANCELLED"


@pytest.mark.parametrize(("user", "shown"), [("hospital", True), ("planner", False), ("qp", False)])
def test_new_order_menu_link_follows_can_create(client, user, shown):
    login_page(client, user)
    html = client.get("/orders/").get_data(as_text=True)
    assert ('href="/orders/new"' in html) is shown

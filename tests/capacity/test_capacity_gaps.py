"""Gaps found after issue 10: lazy expiry seen through the API without any job, a planner booking for
a hospital on the Book capacity page, capacity admin deletes refused where they would lose what
bookings rely on, and no FAB warnings for time columns."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select, update

from app.capacity import admin
from app.capacity.models import Reservation, TimeStandard
from app.core.domain import DomainError
from app.core.extensions import db
from tests import capacity_factories as f
from tests.conftest import login_page


@pytest.fixture
def window(app_ctx):
    day = dt.date.today() + dt.timedelta(days=10)
    w = f.window(f.calendar(), day=day, total=30)
    f.standard("FDG", 6)
    db.session.commit()
    return w


def _remaining(a, w) -> int:
    day = w.local_date.isoformat()
    items = a.get(f"/api/v1/capacity/windows?date_from={day}&date_to={day}").get_json()["items"]
    return next(i["remaining_minutes"] for i in items if i["id"] == w.id)


def test_a_lapsed_hold_is_expired_in_the_api_without_any_job(api, window):
    a = api("hospital")
    held = a.post(
        "/api/v1/reservations", json={"product_code": "FDG", "window_id": window.id, "dose_count": 3}
    )
    assert held.status_code == 201, held.get_json()
    rid = held.get_json()["id"]
    assert a.get(f"/api/v1/reservations/{rid}").get_json()["seconds_left"] > 0
    assert _remaining(a, window) == 12
    # The hold's time runs out; no expiry job or sweep runs: the row still says HELD.
    db.session.execute(
        update(Reservation)
        .where(Reservation.id == rid)
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    db.session.commit()
    body = a.get(f"/api/v1/reservations/{rid}").get_json()
    assert (body["status"], body["seconds_left"]) == ("EXPIRED", 0)
    assert _remaining(a, window) == 30  # its minutes are free again at once
    assert db.session.get(Reservation, rid).status == "HELD"
    # And cancelling it now says there is nothing left to cancel.
    r = a.post(f"/api/v1/reservations/{rid}/cancel", json={"reason": "too late"})
    assert (r.status_code, r.get_json()["code"]) == (409, "RESERVATION_NOT_HELD")


def test_planner_books_for_a_hospital_on_the_book_capacity_page(client, window):
    login_page(client, "planner")
    month = window.local_date.strftime("%Y-%m")
    page = client.get(f"/capacity/book?month={month}&product=FDG")
    assert page.status_code == 200
    assert 'name="customer"' in page.get_data(as_text=True)  # the planner chooses the hospital
    r = client.post(
        "/capacity/book",
        data={"window_id": window.id, "dose_count": "2", "product": "FDG", "customer": "KFSH"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    res = db.session.execute(select(Reservation).where(Reservation.window_id == window.id)).scalar_one()
    assert (res.customer.code, res.reserved_minutes, res.status) == ("KFSH", 12, "HELD")
    assert res.created_by_name and res.created_by_id is not None
    shown = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "KFSH" in shown or res.customer.name in shown
    # Without a hospital the planner is asked to choose one; nothing is held.
    r = client.post("/capacity/book", data={"window_id": window.id, "dose_count": "1", "product": "FDG"})
    assert r.status_code == 422 and "Choose the hospital" in r.get_data(as_text=True)


def test_time_standard_in_force_cannot_be_deleted_but_an_ended_one_can(app_ctx):
    in_force = f.standard("FDG", 6, effective_from=dt.date(2024, 1, 1))
    db.session.commit()
    with pytest.raises(DomainError) as err:
        admin.delete(in_force, reason="typo")
    assert err.value.code == "TIME_STANDARD_IN_FORCE"
    ended = f.standard("FDG", 4, effective_from=dt.date(2020, 1, 1), effective_to=dt.date(2020, 12, 31))
    db.session.commit()
    admin.delete(ended, reason="entered by mistake")
    assert db.session.get(TimeStandard, ended.id) is None


def test_window_with_bookings_cannot_be_deleted(app_ctx, window):
    from app.capacity import service

    service.hold_reservation(f.customer("KFSH").id, f.product("FDG").id, window.id, 1, actor=f.PLANNER)
    with pytest.raises(DomainError) as err:
        admin.delete(window, reason="not needed")
    assert err.value.code == "IN_USE"


def test_capacity_admin_views_build_time_filters_without_warnings(app, caplog):
    from app.capacity.views import ADMIN_VIEWS, CalendarPatternView

    with caplog.at_level(logging.WARNING, logger="flask_appbuilder.models.filters"):
        for view, *_ in (*ADMIN_VIEWS, (CalendarPatternView,)):
            view()
    assert not [r for r in caplog.records if "Filter type not supported" in r.getMessage()]

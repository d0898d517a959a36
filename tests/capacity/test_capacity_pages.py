"""Capacity pages: book capacity (grid, hold, countdown page, cancel), capacity admin with reason."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.capacity.models import Reservation, TimeStandard
from app.core.extensions import db
from tests import capacity_factories as f
from tests.conftest import login_page


@pytest.fixture
def window(app_ctx):
    day = dt.date.today() + dt.timedelta(days=10)
    cal = f.calendar()
    w = f.window(cal, day=day, total=30)
    f.standard("FDG", 6)
    db.session.commit()
    return w


def test_hospital_books_from_the_grid_and_sees_the_countdown(client, window):
    login_page(client, "hospital")
    month = window.local_date.strftime("%Y-%m")
    page = client.get(f"/capacity/book?month={month}&product=FDG")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-window="{window.id}"' in html and "30 / 30 min" in html and "No windows yet" in html
    r = client.post("/capacity/book", data={"window_id": window.id, "dose_count": "4", "product": "FDG"})
    assert r.status_code == 302
    res = db.session.execute(select(Reservation).where(Reservation.window_id == window.id)).scalar_one()
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Held for you for 15 more minutes" in page
    assert f"/orders/new?reservation_id={res.id}" in page
    assert "4 doses × 6 min" in page
    refused = client.post(
        "/capacity/book", data={"window_id": window.id, "dose_count": "2", "product": "FDG"}
    )
    assert refused.status_code == 409
    assert "Only 6 minutes are left" in refused.get_data(as_text=True)
    client.post(f"/capacity/reservations/{res.id}/cancel", data={"reason": "changed"})
    assert db.session.get(Reservation, res.id).status == "CANCELLED"


def test_booking_page_refused_to_staff_without_booking_right(client, window):
    login_page(client, "qc")
    assert client.get("/capacity/book").status_code in (302, 403)


def test_admin_edits_need_a_reason_and_window_total_not_below_booked(client, window):
    from app.capacity import service

    service.hold_reservation(
        f.customer().id, f.product().id, window.id, 4, actor=f.PLANNER
    )  # 24 of 30 booked
    login_page(client, "admin")
    assert client.get("/capacity-windows/list/").status_code == 200
    form = {
        "calendar": str(window.calendar_id),
        "local_date": window.local_date.isoformat(),
        "start_time": "08:00",
        "end_time": "10:00",
        "total_minutes": "20",
        "reason_for_change": "staff shortage",
    }
    r = client.post(f"/capacity-windows/edit/{window.id}", data=form)
    assert "24 minutes of this window are already booked" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(window), window.id).total_minutes == 30
    r = client.post(f"/capacity-windows/edit/{window.id}", data=form | {"total_minutes": "40"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(window), window.id).total_minutes == 40


def test_time_standard_overlap_refused_by_the_database(client, window):
    login_page(client, "admin")
    product = f.product("FDG")
    r = client.post(
        "/time-standards/add",
        data={
            "product": str(product.id),
            "dose_form": "UNIT_DOSE",
            "minutes_required": "5",
            "effective_from": "2029-01-01",
            "effective_to": "",
            "is_active": "y",
            "reason_for_change": "new dispenser",
        },
    )
    html = r.get_data(as_text=True)
    assert "Another active time standard for this product" in html
    n = db.session.execute(select(TimeStandard).where(TimeStandard.product_id == product.id)).scalars().all()
    assert len(n) == 1


def test_overlap_error_code_from_the_service(app_ctx):
    from app.capacity import admin
    from app.core.domain import DomainError

    f.standard("PSMA11", 6, effective_from=dt.date(2030, 1, 1))
    with pytest.raises(DomainError) as err:
        admin.create(
            TimeStandard(
                product_id=f.product("PSMA11").id,
                dose_form="UNIT_DOSE",
                minutes_required=7,
                effective_from=dt.date(2030, 6, 1),
            ),
            reason="overlap",
        )
    assert (err.value.code, err.value.status) == ("TIME_STANDARD_OVERLAP", 409)


def test_generate_windows_page(client, app_ctx):
    from app.capacity.models import CalendarPattern

    cal = f.calendar()
    db.session.add(
        CalendarPattern(
            calendar_id=cal.id, weekday=0, start_time=dt.time(6), end_time=dt.time(8), total_minutes=120
        )
    )
    db.session.commit()
    login_page(client, "planner")
    r = client.post(
        "/capacity/generate/", data={"calendar_id": cal.id, "start_date": "2030-06-03", "days": "7"}
    )
    assert "1 windows and 0 slots created" in r.get_data(as_text=True)


def test_past_and_cut_off_windows_are_shown_but_not_offered(client, app_ctx):
    """A window that started, or whose order cut-off passed, is greyed out and cannot be picked."""
    cal = f.calendar(cutoff_days=1, cutoff_time=dt.time(14, 0))
    now = dt.datetime.now(dt.UTC)
    past = f.window(cal, day=(now - dt.timedelta(days=2)).date())
    login_page(client, "planner")
    html = client.get(f"/capacity/book?month={past.local_date:%Y-%m}").get_data(as_text=True)
    button = re.search(rf'<button[^>]*data-window="{past.id}"[^>]*>', html)
    assert button and "disabled" in button.group(0) and "rp-cap-past" in button.group(0)

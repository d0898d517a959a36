"""A hospital buyer books a delivery window in the Book capacity calendar and sees the hold's countdown."""

from __future__ import annotations

import datetime as dt
import re

from app.core.extensions import db
from tests import capacity_factories as f
from tests.e2e.conftest import login, shot


def test_hospital_books_a_window_and_sees_the_countdown(page, base_url, app):
    with app.app_context():
        day = dt.date.today() + dt.timedelta(days=3)
        cal = f.calendar()
        w = f.window(cal, day=day, total=60)
        full = f.window(cal, day=day, start=dt.time(10), end=dt.time(12), total=12)
        f.standard("FDG", 6)
        db.session.commit()
        wid, full_id = w.id, full.id
        db.session.remove()
    login(page, base_url, "hospital")
    page.goto(f"{base_url}/capacity/book?month={day:%Y-%m}&product=FDG")
    page.fill("#rp-doses", "4")
    page.click(f'.rp-cap-win[data-window="{wid}"]')
    calc = page.locator("#rp-calc").inner_text()
    assert "4 doses × 6 min = 24 min" in calc, calc
    shot(page, "e2e-capacity-book")
    with page.expect_navigation():
        page.click("#rp-book")
    countdown = page.locator("#rp-countdown")
    assert re.search(r"Held for you for 1[45] more minutes", countdown.inner_text())
    first = countdown.inner_text()
    page.wait_for_timeout(1500)
    assert countdown.inner_text() != first  # it is live
    assert "reservation_id=" in page.locator("#rp-create-order").get_attribute("href")
    shot(page, "e2e-capacity-held")
    # A window without room: the refusal and the alternatives as buttons.
    page.goto(f"{base_url}/capacity/book?month={day:%Y-%m}&product=FDG")
    page.fill("#rp-doses", "3")
    page.click(f'.rp-cap-win[data-window="{full_id}"]')
    with page.expect_navigation():
        page.click("#rp-book")
    assert "Only 12 minutes are left" in page.locator("#rp-refusal").inner_text()
    assert page.locator(f'.rp-alt[data-window="{wid}"]').count() == 1
    shot(page, "e2e-capacity-refused")

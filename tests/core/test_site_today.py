"""`site_today()`: the site's date, not the server's (which is UTC's near the site's midnight)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.core.web import site_today


def test_the_date_follows_the_site_zone(app):
    # 25 hours apart: these two zones never share a date
    with app.app_context():
        kept = app.config["SITE_TIMEZONE"]
        try:
            app.config["SITE_TIMEZONE"] = "Pacific/Kiritimati"  # UTC+14
            east = site_today()
            app.config["SITE_TIMEZONE"] = "Pacific/Pago_Pago"  # UTC-11
            west = site_today()
        finally:
            app.config["SITE_TIMEZONE"] = kept
    assert east == dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert west == dt.datetime.now(ZoneInfo("Pacific/Pago_Pago")).date()
    assert east > west

"""Local times typed for a site: a time the zone skips (spring) or repeats (autumn) is refused."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.core.domain import DomainError
from app.core.web import local_instant, parse_local

BERLIN = ZoneInfo("Europe/Berlin")


def test_normal_local_time_becomes_utc():
    assert local_instant(dt.datetime(2026, 3, 29, 3, 30), BERLIN) == dt.datetime(
        2026, 3, 29, 1, 30, tzinfo=dt.UTC
    )
    assert local_instant(dt.datetime(2026, 3, 29, 1, 59), BERLIN) == dt.datetime(
        2026, 3, 29, 0, 59, tzinfo=dt.UTC
    )


def test_time_skipped_in_spring_is_refused():
    with pytest.raises(DomainError) as err:
        local_instant(dt.datetime(2026, 3, 29, 2, 30), BERLIN, "planned_start_at")
    assert err.value.code == "LOCAL_TIME_INVALID" and err.value.status == 422
    assert "does not exist in Europe/Berlin" in err.value.user_message
    assert "planned_start_at" in err.value.details["fields"]


def test_time_repeated_in_autumn_is_refused_unless_offset_given():
    with pytest.raises(DomainError) as err:
        local_instant(dt.datetime(2026, 10, 25, 2, 30), BERLIN)
    assert err.value.code == "LOCAL_TIME_INVALID" and "happens twice" in err.value.user_message
    summer = parse_local("2026-10-25T02:30+02:00", tz=BERLIN)
    winter = parse_local("2026-10-25T02:30+01:00", tz=BERLIN)
    assert (winter - summer) == dt.timedelta(hours=1)


def test_not_a_date_is_a_validation_error():
    with pytest.raises(DomainError) as err:
        parse_local("yesterday", "taken_at", tz=BERLIN)
    assert err.value.code == "VALIDATION_ERROR"


def test_database_session_runs_in_utc(app_ctx):
    from sqlalchemy import text

    from app.core.extensions import db

    assert db.session.execute(text("SHOW TimeZone")).scalar() == "UTC"
    got = db.session.execute(text("SELECT timestamptz '2026-03-29 03:30+02'")).scalar()
    assert got.utcoffset() == dt.timedelta(0) and got.hour == 1

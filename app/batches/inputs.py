"""Checking what a person typed before a batch action uses it: codes that exist, times with a zone,
activities in range, notes and metadata of sane size. Each refusal is a 422 naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.core.domain import ValidationFailed
from app.core.extensions import db
from app.core.web import local_instant
from app.masterdata.models import HotCell, Site

MAX_NOTE = 4000
MAX_METADATA_BYTES = 8000
MAX_ACTIVITY_MBQ = Decimal("2000000")  # 2 TBq: above any cyclotron batch


def active(model, *, code: str, what: str):
    obj = db.session.execute(select(model).where(model.code == code)).scalar_one_or_none()
    if obj is None or not obj.active:
        raise ValidationFailed(f"Unknown {what} {code!r}.", {f"{what}_code": [f"No active {what} {code!r}."]})
    return obj


def site(code: str | None) -> Site:
    if code:
        return active(Site, code=code, what="site")
    sites = db.session.execute(select(Site).where(Site.active.is_(True)).limit(2)).scalars().all()
    if len(sites) != 1:
        raise ValidationFailed(
            "Choose the site.", {"site_code": ["Required when there is more than one site."]}
        )
    return sites[0]


def hot_cell(site: Site, code: str | None) -> HotCell | None:
    if not code:
        return None
    cell = db.session.execute(
        select(HotCell).where(HotCell.site_id == site.id, HotCell.code == code)
    ).scalar_one_or_none()
    if cell is None or not cell.active:
        raise ValidationFailed(f"Unknown hot cell {code!r} at {site.code}.", {"hot_cell_code": ["Unknown."]})
    return cell


def utc(value: dt.datetime, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationFailed("A date and time is needed.", {field: ["Not a date and time."]})
    # A time without zone is a site-local time; one the site's clock skips or repeats is refused.
    return local_instant(value, ZoneInfo(current_app.config["SITE_TIMEZONE"]), field)


def activity(value: Any, field: str = "planned_activity_mbq") -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number <= 0 or number > MAX_ACTIVITY_MBQ or isinstance(value, bool):
        raise ValidationFailed(
            "Activity must be a positive number of MBq (at most 2,000,000).", {field: ["Out of range."]}
        )
    return number.quantize(Decimal("0.1"))


def note(note: Any) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str):
        raise ValidationFailed("The note must be text.", {"note": ["Not text."]})
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(
            f"The note is too long ({MAX_NOTE} characters at most).", {"note": ["Too long."]}
        )
    return note or None


def metadata(metadata: Any) -> dict | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise ValidationFailed("Metadata must be a JSON object.", {"metadata": ["Not an object."]})
    if len(str(audit.jsonable(metadata))) > MAX_METADATA_BYTES:
        raise ValidationFailed("Metadata is too large.", {"metadata": ["Too large."]})
    return audit.jsonable(metadata) or None

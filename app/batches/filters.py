"""The batch list's filters, sort and paging, read from query parameters (API and pages alike).

Rules: unknown parameters, unknown values (a status, product, site, hospital or hot cell that does
not exist) and bad dates are refused with 422 and the field named, never a 500. `page` starts at 1;
a page past the end is an empty page with the total. `page_size` is 1..200: 0 or 10,000 is a 422,
not silently clamped, so a client learns its request was not honoured.
Dates: `YYYY-MM-DD` is a site-local day (`date_to` includes that whole day); a full ISO 8601 time
is an instant (`date_to` excludes it), site-local when it has no zone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import String, func, or_, select

from app.batches.domain.fields import QC_STATUSES, QP_DISPOSITIONS, SHIPMENT_STATUSES
from app.batches.domain.states import STATES
from app.core.domain import ValidationFailed
from app.core.sql import any_of, fetch
from app.masterdata.models import Customer, HotCell, Product, Site

MAX_ID = 2**31 - 1  # an id beyond PostgreSQL's integer is no record's id

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
SORTS = ("planned_at", "status", "updated_at")
DATE_FIELDS = ("planned", "production", "release")
KNOWN = {
    "status",
    "product",
    "site",
    "customer",
    "hot_cell",
    "qc_status",
    "qp_disposition",
    "shipment_status",
    "date_field",
    "date_from",
    "date_to",
    "q",
    "mine",
    "exceptions_only",
    "sort",
    "order",
    "page",
    "page_size",
    "_",
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ListQuery:
    statuses: tuple[str, ...] = ()
    product_ids: tuple[int, ...] = ()
    site_ids: tuple[int, ...] = ()
    customer_ids: tuple[int, ...] = ()
    hot_cell_ids: tuple[int, ...] = ()
    qc_statuses: tuple[str, ...] = ()
    qp_dispositions: tuple[str, ...] = ()
    shipment_statuses: tuple[str, ...] = ()
    date_field: str = "planned"
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None  # exclusive
    q: str | None = None
    mine: bool = False
    exceptions_only: bool = False
    sort: str = "planned_at"
    order: str = "desc"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


class _Errors(dict):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


def parse_list_args(args: Any) -> ListQuery:
    """A ListQuery from a MultiDict (request.args) or a plain dict of lists/strings."""
    errors = _Errors()
    for name in _keys(args):
        if name not in KNOWN:
            errors.add(name, "Unknown parameter.")

    def values(name: str) -> list[str]:
        return [v.strip() for raw in _getlist(args, name) for v in str(raw).split(",") if v.strip()]

    def choice(name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        got = tuple(v.upper() for v in values(name))
        bad = [v for v in got if v not in allowed]
        if bad:
            errors.add(name, f"Unknown value(s): {', '.join(bad)}. Allowed: {', '.join(allowed)}.")
        return got

    query = ListQuery(
        statuses=choice("status", STATES),
        qc_statuses=choice("qc_status", QC_STATUSES),
        qp_dispositions=choice("qp_disposition", QP_DISPOSITIONS),
        shipment_statuses=choice("shipment_status", SHIPMENT_STATUSES),
        product_ids=_lookup(Product, values("product"), "product", errors),
        site_ids=_lookup(Site, values("site"), "site", errors),
        customer_ids=_lookup(Customer, values("customer"), "customer", errors),
        hot_cell_ids=_lookup(HotCell, values("hot_cell"), "hot_cell", errors),
        date_field=_one(args, "date_field", "planned", DATE_FIELDS, errors),
        date_from=_bound(_first(args, "date_from"), "date_from", errors, end=False),
        date_to=_bound(_first(args, "date_to"), "date_to", errors, end=True),
        q=_text(_first(args, "q"), errors),
        mine=_flag(args, "mine", errors),
        exceptions_only=_flag(args, "exceptions_only", errors),
        sort=_one(args, "sort", "planned_at", SORTS, errors),
        order=_one(args, "order", "desc", ("asc", "desc"), errors),
        page=_int(args, "page", 1, 1, None, errors),
        page_size=_int(args, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, errors),
    )
    if query.date_from and query.date_to and query.date_from >= query.date_to:
        errors.add("date_to", "The end of the date range is before its start.")
    if errors:
        raise ValidationFailed("Some filters are not valid: " + ", ".join(errors) + ".", dict(errors))
    return query


def _keys(args: Any) -> list[str]:
    return list(args.keys())


def _getlist(args: Any, name: str) -> list[Any]:
    if hasattr(args, "getlist"):
        return args.getlist(name)
    value = args.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _first(args: Any, name: str) -> str | None:
    got = _getlist(args, name)
    return str(got[0]).strip() if got and str(got[0]).strip() else None


def _one(args: Any, name: str, default: str, allowed: tuple[str, ...], errors: _Errors) -> str:
    value = (_first(args, name) or default).lower()
    if value not in allowed:
        errors.add(name, f"Must be one of: {', '.join(allowed)}.")
        return default
    return value


def _flag(args: Any, name: str, errors: _Errors) -> bool:
    value = (_first(args, name) or "false").lower()
    if value not in {"true", "false", "1", "0", "yes", "no"}:
        errors.add(name, "Must be true or false.")
        return False
    return value in {"true", "1", "yes"}


def _int(args: Any, name: str, default: int, low: int, high: int | None, errors: _Errors) -> int:
    raw = _first(args, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.add(name, "Must be a whole number.")
        return default
    if value < low or (high is not None and value > high):
        errors.add(name, f"Must be between {low} and {high}." if high else f"Must be at least {low}.")
        return default
    return value


def _text(raw: str | None, errors: _Errors) -> str | None:
    if raw is not None and len(raw) > 64:
        errors.add("q", "At most 64 characters.")
        return None
    return raw


def _bound(raw: str | None, name: str, errors: _Errors, *, end: bool) -> dt.datetime | None:
    if raw is None:
        return None
    tz = ZoneInfo(current_app.config["SITE_TIMEZONE"])
    try:
        if _DAY.match(raw):
            day = dt.date.fromisoformat(raw) + dt.timedelta(days=1 if end else 0)
            return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        errors.add(name, "Not a date (YYYY-MM-DD) or an ISO 8601 date and time.")
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(dt.UTC)


def _lookup(model, wanted: list[str], name: str, errors: _Errors) -> tuple[int, ...]:
    """Codes (case-insensitive) or ids to ids; anything unknown is an error."""
    if not wanted:
        return ()
    ids = sorted({int(w) for w in wanted if w.isdigit() and int(w) <= MAX_ID})
    codes = sorted({w.upper() for w in wanted if not w.isdigit()})
    rows = fetch(
        ("batches.filter_lookup", model.__tablename__),
        lambda: select(model.id, model.code).where(
            or_(
                any_of(model.id, [], name="ids"),
                any_of(func.upper(model.code), [], name="codes", item_type=String()),
            )
        ),
        {"ids": ids, "codes": codes},
    )
    found_ids = {r.id for r in rows}
    found_codes = {r.code.upper() for r in rows}
    unknown = [
        w for w in wanted if (int(w) not in found_ids if w.isdigit() else w.upper() not in found_codes)
    ]
    if unknown:
        errors.add(name, f"Unknown {name.replace('_', ' ')}: {', '.join(unknown)}.")
    return tuple(sorted(found_ids))

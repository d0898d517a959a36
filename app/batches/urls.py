"""The batch list's URL is its state: filters, sort and page live in the query string, so a view
can be bookmarked and shared. These helpers read that state and build the links of the page
(chips that remove one filter, sort headers, pages, KPI cards) without ever parsing filters
themselves: validation is `app.batches.filters.parse_list_args`, the API's own parser.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from flask import url_for
from werkzeug.datastructures import MultiDict

from app.batches.domain.states import label
from app.batches.filters import KNOWN
from app.core.ui import look

Pairs = list[tuple[str, str]]
# Not filters: they never make a chip and never make a KPI card "active".
_NOT_FILTERS = {"sort", "order", "page", "page_size", "_"}
_DEFAULTS = {"date_field": "planned", "sort": "planned_at", "order": "desc"}


def filter_pairs(args: MultiDict) -> Pairs:
    """The list parameters of a request: known names, non-empty values, comma lists split."""
    out: Pairs = []
    for key, raw in args.items(multi=True):
        if key not in KNOWN or key == "_":
            continue
        for value in str(raw).split(",") if key not in ("q", "date_from", "date_to") else [str(raw)]:
            value = value.strip()
            if value and (key, value) not in out:
                out.append((key, value))
    dates = any(k in ("date_from", "date_to") for k, _ in out)
    # The date field selector matters only with a date; drop defaults so URLs stay short.
    return [
        (k, v)
        for k, v in out
        if not (k == "date_field" and not dates) and not (k in _DEFAULTS and _DEFAULTS[k] == v.lower())
    ]


def list_url(pairs: Pairs, **changes: Any) -> str:
    """/batches/ with these pairs; `changes` replace whole keys (None removes the key)."""
    kept = [(k, v) for k, v in pairs if k not in changes]
    for key, value in changes.items():
        if value is None or value == "" or value is False:
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            kept.append((key, str(v)))
    base = url_for("BatchPagesView.index")
    return f"{base}?{urlencode(kept)}" if kept else base


def without(pairs: Pairs, *remove: tuple[str, str | None]) -> str:
    """The list URL without some (key, value) pairs (value None removes every value of the key);
    always back to page 1."""
    kept = [
        (k, v)
        for k, v in pairs
        if k != "page" and not any(k == rk and (rv is None or rv == v) for rk, rv in remove)
    ]
    return list_url(kept)


def current(pairs: Pairs, key: str, default: str = "") -> str:
    return next((v for k, v in pairs if k == key), default)


def values(pairs: Pairs, key: str) -> list[str]:
    return [v for k, v in pairs if k == key]


def chips(pairs: Pairs, options: dict[str, list[dict[str, Any]]]) -> list[dict[str, str]]:
    """One removable chip per applied filter value, in words."""
    names = {
        "product": {str(o[f]).upper(): o["code"] for o in options["products"] for f in ("id", "code")},
        "site": {str(o[f]).upper(): o["name"] for o in options["sites"] for f in ("id", "code")},
        "customer": {str(o[f]).upper(): o["name"] for o in options["customers"] for f in ("id", "code")},
        "hot_cell": {str(o["id"]): f"{o['name']} ({o['site_code']})" for o in options["hot_cells"]},
    }
    words = {
        "status": ("Status", lambda v: label(v.upper())),
        "product": ("Product", lambda v: names["product"].get(v.upper(), v)),
        "site": ("Site", lambda v: names["site"].get(v.upper(), v)),
        "customer": ("Customer", lambda v: names["customer"].get(v.upper(), v)),
        "hot_cell": ("Hot cell", lambda v: names["hot_cell"].get(v, v)),
        "qc_status": ("QC", lambda v: look("qc", v.upper()).label),
        "qp_disposition": ("QP", lambda v: look("qp", v.upper()).label),
        "shipment_status": ("Shipment", lambda v: look("shipment", v.upper()).label),
        "q": ("Search", lambda v: f"“{v}”"),
    }
    out = []
    for key, value in pairs:
        if key in words:
            title, fmt = words[key]
            out.append(
                {"key": key, "title": title, "value": fmt(value), "remove": without(pairs, (key, value))}
            )
    date_from, date_to = current(pairs, "date_from"), current(pairs, "date_to")
    if date_from or date_to:
        field = current(pairs, "date_field", "planned").capitalize()
        span = f"{date_from or '…'} – {date_to or '…'}"
        out.append(
            {
                "key": "date",
                "title": f"{field} date",
                "value": span,
                "remove": without(pairs, ("date_from", None), ("date_to", None), ("date_field", None)),
            }
        )
    for key, text in (("mine", "My batches"), ("exceptions_only", "Exceptions only")):
        if current(pairs, key).lower() in ("true", "1", "yes"):
            out.append({"key": key, "title": text, "value": "", "remove": without(pairs, (key, None))})
    return out


def filters_only(pairs: Pairs) -> set[tuple[str, str]]:
    return {(k, v.upper() if k in ("status",) else v) for k, v in pairs if k not in _NOT_FILTERS}


def kpi_cards(metrics: dict[str, Any], pairs: Pairs, today: dt.date) -> list[dict[str, Any]]:
    """The KPI cards above the table; a card with a filter links to the list filtered by it."""
    active_now = filters_only(pairs)

    def card_pairs(filters: dict[str, Any]) -> Pairs:
        out: Pairs = []
        for key, value in filters.items():
            for v in value if isinstance(value, list) else [value]:
                out.append((key, str(v)))
        return [(k, v) for k, v in out if not (k in _DEFAULTS and _DEFAULTS[k] == v)]

    lead_filter = {"date_field": "release", "date_from": (today - dt.timedelta(days=6)).isoformat()}
    specs = [
        ("batches_today", "Batches today", "calendar-day", "plan", metrics["filters"]["batches_today"],
         "planned to start today"),
        ("awaiting_qc", "Awaiting QC", "microscope", "qc", metrics["filters"]["awaiting_qc"],
         "QC pending or in progress"),
        ("awaiting_qp_release", "Awaiting QP release", "user-check", "qp",
         metrics["filters"]["awaiting_qp_release"], "QC passed or in QP review"),
        ("on_hold_exceptions", "On hold / exceptions", "exclamation-triangle", "warn",
         metrics["filters"]["on_hold_exceptions"], "on hold, failed QC or deviation open"),
    ]  # fmt: skip
    cards = []
    for key, title, icon, tone, filters, hint in specs:
        cp = card_pairs(filters)
        cards.append(
            {
                "key": key,
                "title": title,
                "icon": icon,
                "tone": tone,
                "value": f"{metrics[key]:,}",
                "hint": hint,
                "href": list_url(cp),
                "clear_href": list_url([]),
                "active": bool(cp) and filters_only(cp) == active_now,
            }
        )
    lead = metrics["avg_release_lead_time_min"]
    lp = card_pairs(lead_filter)
    cards.append(
        {
            "key": "lead_time",
            "title": "Avg release lead time",
            "icon": "stopwatch",
            "tone": "ok",
            "value": duration(lead),
            "hint": (
                f"end of synthesis → release, {metrics['release_lead_time_batches']} batches, last 7 days"
                if lead is not None
                else "no batch released in the last 7 days"
            ),
            "href": list_url(lp),
            "clear_href": list_url([]),
            "active": filters_only(lp) == active_now,
        }
    )
    util = metrics["utilization"]
    committed, total = util.get("committed_min"), util.get("total_min")
    hint = util.get("reason") or (
        f"dispensing minutes committed of today's total; {util.get('reserved_min') or 0:,} more held"
    )
    cards.append(
        {
            "key": "utilization",
            "title": "Utilization",
            "icon": "chart-pie",
            "tone": "neutral",
            "value": "—" if committed is None or not total else f"{committed:,} / {total:,} min",
            "hint": hint,
            "href": "/planner/" if committed is not None else None,
            "active": False,
        }
    )
    return cards


def duration(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    total = round(minutes)
    hours, mins = divmod(total, 60)
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


def sort_link(pairs: Pairs, key: str) -> dict[str, Any]:
    """A sortable header: clicking the current sort flips the order; another starts descending
    (ascending for status, which reads best from the start of the path)."""
    sort = current(pairs, "sort", "planned_at")
    order = current(pairs, "order", "desc")
    is_current = sort == key
    flipped = "asc" if order == "desc" else "desc"
    new_order = flipped if is_current else ("asc" if key == "status" else "desc")
    href = list_url([(k, v) for k, v in pairs if k != "page"], sort=key, order=new_order)
    aria = ("descending" if order == "desc" else "ascending") if is_current else "none"
    return {"href": href, "current": is_current, "order": order, "aria": aria}


def page_links(pairs: Pairs, page: int, page_size: int, total: int, exact: bool = True) -> dict[str, Any]:
    """Page links around the current page. `exact=False`: `total` is a lower bound (the list counted
    up to its cap), so there is no last page to link and there is always a next one."""
    pages = max(1, (total + page_size - 1) // page_size)
    if exact:
        window = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    else:
        window = sorted({1, *range(max(1, page - 2), page + 2)})  # more rows than page + 1 pages hold
    items: list[dict[str, Any]] = []
    last = 0
    for n in window:
        if n - last > 1:
            items.append({"gap": True})
        items.append({"n": n, "href": list_url(pairs, page=n), "current": n == page})
        last = n
    if not exact:
        items.append({"gap": True})
    first_row = 0 if total == 0 else min(total, (page - 1) * page_size + 1)
    return {
        "pages": pages if exact else max(pages, page + 1),
        "items": items,
        "prev": list_url(pairs, page=page - 1) if page > 1 else None,
        "next": list_url(pairs, page=page + 1) if page < pages or not exact else None,
        "first_row": first_row,
        "last_row": min(total, page * page_size),
        "exact": exact,
    }

"""The one map of how every status looks (tone + icon + words), exposed to Jinja.

Every page that shows a batch status, a QC status, a QP disposition or a shipment status draws
it through the `status_badge` macro (app/templates/core/ui.html), which reads this map, so a
status has the same colour, icon and words on the list, the journey, the release queue and the
exported logs. Each part registers the looks of
its own statuses at start-up (`register_looks`; the batch states come from `app.batches.looks`), so
core knows no part above it. Tones are CSS classes `rp-tone-<tone>` (app.css, "Batch pages").
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from markupsafe import Markup

from app.core.web import to_local


@dataclass(frozen=True)
class Look:
    label: str
    tone: str  # neutral, plan, work, qc, qp, ok, done, warn, bad, muted
    icon: str  # Font Awesome 6 (FAB ships it) name without the "fa-" prefix


# fmt: off
QC_STATUS: dict[str, Look] = {
    "NOT_STARTED": Look("Not started", "neutral", "circle"),
    "PENDING": Look("Pending", "qc", "hourglass-half"),
    "IN_PROGRESS": Look("In progress", "qc", "microscope"),
    "PASSED": Look("Passed", "ok", "check-circle"),
    "FAILED": Look("Failed", "bad", "times-circle"),
}
QP_DISPOSITION: dict[str, Look] = {
    "PENDING": Look("Awaiting QP", "qp", "user-clock"),
    "RELEASED": Look("Released", "ok", "certificate"),
    "ON_HOLD": Look("On hold", "warn", "pause-circle"),
    "REJECTED": Look("Rejected", "bad", "ban"),
}
SHIPMENT_STATUS: dict[str, Look] = {
    "NOT_SHIPPED": Look("Not shipped", "neutral", "circle"),
    "PACKED": Look("Packed", "ok", "box"),
    "DISPATCHED": Look("Dispatched", "done", "truck"),
}
# The stepper's step states.
STEP_STATE: dict[str, Look] = {
    "done": Look("Done", "ok", "check"),
    "current": Look("Current step", "work", "spinner"),
    "pending": Look("Pending", "neutral", "circle"),
    "blocked": Look("Blocked", "bad", "ban"),
}
# fmt: on
KINDS: dict[str, dict[str, Look]] = {
    "qc": QC_STATUS,
    "qp": QP_DISPOSITION,
    "shipment": SHIPMENT_STATUS,
    "step": STEP_STATE,
}
NONE_LOOK: dict[str, Look] = {
    "qc": Look("—", "neutral", "minus"),
    "qp": Look("Not yet", "neutral", "minus"),
    "shipment": Look("—", "neutral", "minus"),
    "step": Look("—", "neutral", "circle"),
}


def register_looks(kind: str, looks: dict[str, Look], none_look: Look) -> None:
    """A part adds how its statuses look (called from the part's `register`)."""
    KINDS[kind] = looks
    NONE_LOOK[kind] = none_look
    _BADGES.clear()


_BADGES: dict[tuple[str, str | None, str], Markup] = {}


def status_badge(kind: str, value: str | None, size: str = "") -> Markup:
    """The badge of `value` (the `status_badge` macro of core/ui.html draws this). Made once per
    kind, value and size: a list page draws 150 of them, and a Jinja macro call per badge was a
    tenth of the page's rendering."""
    key = (kind, value, size)
    badge = _BADGES.get(key)
    if badge is None:
        lk = look(kind, value)
        badge = Markup(
            '<span class="rp-badge rp-tone-{tone}{size}" data-status="{value}"><i class="fa fa-{icon}"'
            ' aria-hidden="true"></i> {label}</span>'
        ).format(
            tone=lk.tone,
            size=f" rp-badge-{size}" if size else "",
            value=value or "",
            icon=lk.icon,
            label=lk.label,
        )
        if len(_BADGES) < 4096:  # statuses are a closed set; an odd value is drawn, not kept
            _BADGES[key] = badge
    return badge


def look(kind: str, value: str | None) -> Look:
    """How `value` of `kind` (batch, qc, qp, shipment, step) looks; unknown values stay readable."""
    if value is None:
        return NONE_LOOK[kind]
    return KINDS[kind].get(value) or Look(value.replace("_", " ").title(), "neutral", "circle")


def looks_json() -> str:
    """The map as JSON for scripts that draw badges (the action dialog); safe inside <script>."""
    data = {kind: {k: v.__dict__ for k, v in looks.items()} for kind, looks in KINDS.items()}
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def local_short(value: dt.datetime | None, zone: str | None = None) -> str:
    """Day and time in the site's zone without the zone's name (where a heading names it)."""
    local = to_local(value, zone)
    return "—" if local is None else local.strftime("%d %b %H:%M")


_ID = 987654321987  # stands for the id while a URL's pattern is built (the routes' ids are integers)


def id_url(endpoint: str, batch_id: int, **values: Any) -> str:
    """url_for(endpoint, batch_id=batch_id, **values), for a list page's rows: url_for costs about
    10 µs and a page of 50 rows with their actions needs 100 to 150 of them. The URL is built once per
    request with a stand-in id, then only the id changes (the same text url_for gives, the id being an
    integer route argument)."""
    patterns = request.environ.setdefault("rp.id_urls", {})
    key = (endpoint, *sorted(values.items()))
    pattern = patterns.get(key)
    if pattern is None:
        built = url_for(endpoint, batch_id=_ID, **values)
        pattern = patterns[key] = built.split(str(_ID))
        if len(pattern) != 2:  # the stand-in must appear exactly once
            patterns.pop(key)
            return url_for(endpoint, batch_id=batch_id, **values)
    return f"{pattern[0]}{int(batch_id)}{pattern[1]}"


def register_jinja(app) -> None:
    """Expose the map to every template (`status_look(kind, value)`, `status_looks_json()`) and
    `id_url` (a row's URL)."""
    app.jinja_env.globals.update(
        status_look=look,
        status_badge_html=status_badge,
        STATUS_KINDS=KINDS,
        status_looks_json=looks_json,
        id_url=id_url,
    )
    config = app.config  # the site's zone read from the app's config, not through current_app per row
    app.jinja_env.filters["local_short"] = lambda value: local_short(value, config["SITE_TIMEZONE"])

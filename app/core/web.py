"""Things every page needs: local-time filters, the health check, security headers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask, abort, current_app, jsonify, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy import text

from app.core.domain import ValidationFailed
from app.core.extensions import csrf, db, get_redis


def site_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["SITE_TIMEZONE"])


def site_today() -> dt.date:
    """Today at the site (the server's own date is UTC's: a day behind or ahead near midnight)."""
    return dt.datetime.now(site_tz()).date()


def to_local(value: dt.datetime | None, zone: str | None = None) -> dt.datetime | None:
    """`value` (naive: UTC) in `zone`, by default the site's (pages' filters pass the zone they read
    once from the app's config: a page shows hundreds of times)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(zone) if zone else site_tz())


def local_instant(wall: dt.datetime, tz: ZoneInfo, field: str = "time") -> dt.datetime:
    """A wall-clock time typed for a site, as a UTC instant; a time the zone skips or repeats is refused.

    On the spring change 02:30 does not exist in Europe/Berlin and in the autumn 02:30 happens twice;
    either silently shifted by an hour would move a decay or a shelf life by an hour. The person
    is asked to say which instant they mean (an explicit offset such as +01:00 is always accepted).
    """
    if wall.tzinfo is not None and wall.utcoffset() is not None:
        return wall.astimezone(dt.UTC)
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    stamp = f"{wall:%Y-%m-%d %H:%M}"
    if first.utcoffset() != second.utcoffset():
        round_trip = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != wall.replace(tzinfo=None):
            message = (
                f"{stamp} does not exist in {tz.key}: the clocks jump forward at the daylight-saving "
                "change. Enter the time after the change (or give the UTC offset)."
            )
            reason = "does not exist (daylight-saving change)"
        else:
            message = (
                f"{stamp} happens twice in {tz.key}: the clocks go back at the daylight-saving change. "
                "Give the UTC offset, e.g. 02:30+02:00 (summer time) or 02:30+01:00 (winter time)."
            )
            reason = "ambiguous (daylight-saving change)"
        err = ValidationFailed(message, {field: reason})
        err.code = "LOCAL_TIME_INVALID"
        raise err
    return first.astimezone(dt.UTC)


def parse_local(raw: object, field: str = "time", tz: ZoneInfo | None = None) -> dt.datetime:
    """An ISO 8601 date and time from a page or API as a UTC instant; without an offset it is site-local.

    Refused (422): not a date and time (VALIDATION_ERROR); a local time that does not exist or is
    ambiguous at the site (LOCAL_TIME_INVALID).
    """
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        try:
            value = dt.datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValidationFailed(
                f"{field.replace('_', ' ')} is not a date and time (ISO 8601).", {field: "not a date"}
            ) from None
    return local_instant(value, tz or site_tz(), field)


def fmt_local(value: dt.datetime | None, fmt: str = "%d %b %Y %H:%M", *, zone: str | None = None) -> str:
    """Local time with the zone named, e.g. '22 Nov 2026 04:35 +03 (Asia/Riyadh)'. Pages call it for
    every time they show (600 times on a journey of 300 events): their filter passes the site's `zone`
    (read from the app's config, not through `current_app` on every call)."""
    name = zone or current_app.config["SITE_TIMEZONE"]
    local = to_local(value, name)
    if local is None:
        return "—"
    return f"{local.strftime(fmt)} {local.strftime('%Z')} ({name})"


def fmt_time(value: dt.datetime | None) -> str:
    local = to_local(value)
    return "—" if local is None else local.strftime("%H:%M")


def fmt_utc(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%d %b %Y %H:%M:%S UTC")


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; a request without a session cookie (every API call with a
    bearer token) gets its new empty session without a signing serializer being built for nothing
    (Flask builds one, with its key derivation, on every request: about 0.07 ms, issue 16). A request
    with the cookie is read exactly as Flask reads it."""

    def open_session(self, app, request):  # type: ignore[no-untyped-def]
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):  # type: ignore[no-untyped-def]
        if not session and not session.modified:  # nothing to set or delete: Flask's own early return
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_web(app: Flask) -> None:
    from app.core import lengths  # noqa: F401  (registers the column-length guard on every session)
    from app.core.guards import init_guards
    from app.core.headers import init_headers

    init_guards(app)
    init_headers(app)
    app.session_interface = CookieSessions()
    config = app.config

    def local(value: dt.datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
        return fmt_local(value, fmt, zone=config["SITE_TIMEZONE"])

    app.jinja_env.filters["local"] = local
    app.jinja_env.filters["localtime"] = fmt_time
    app.jinja_env.filters["utc"] = fmt_utc

    @app.context_processor
    def _site():
        return {"site_timezone": app.config["SITE_TIMEZONE"]}

    @app.before_request
    def _guard_fab_actions():
        """FAB's ModelView `action` / `action_post` endpoints carry no view permission of their own:
        they look the action up first (an unknown name raised a 500) and send a refused anonymous
        caller to the index. Send anonymous callers to the login page and unknown actions to 404."""
        endpoint = request.endpoint or ""
        if not endpoint.endswith((".action", ".action_post")):
            return None
        view = getattr(current_app.view_functions.get(endpoint), "__self__", None)
        if view is None or not hasattr(view, "actions"):
            return None
        if not current_user.is_authenticated:
            login = current_app.appbuilder.sm.auth_view.__class__.__name__ + ".login"  # type: ignore[attr-defined]
            return redirect(url_for(login, next=request.url))
        name = (request.view_args or {}).get("name") or request.form.get("action")
        if name not in view.actions:
            abort(404)
        return None

    @app.get("/health")
    @csrf.exempt
    def health():
        status = {"status": "ok", "db": "ok", "redis": "ok"}
        code = 200
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:
            db.session.rollback()
            status.update(status="degraded", db="unreachable")
            code = 503
        try:
            get_redis().ping()
        except Exception:
            status["redis"] = "unreachable"
            if code == 200:
                status["status"] = "degraded"
        return jsonify(status), code

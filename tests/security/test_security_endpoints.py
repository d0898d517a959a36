"""Every registered URL is protected: an anonymous request is refused, never served or crashed.

Walks `app.url_map`, so a page or API added later is covered without touching this file. The
few public endpoints are listed with the reason they are public.
"""

from __future__ import annotations

import re
import uuid

import pytest
from werkzeug.routing import IntegerConverter, UUIDConverter

from tests.conftest import login_page, rolled_back

# Public on purpose. Anything else must refuse an anonymous caller.
PUBLIC = {
    "AuthDBView.login": "the login form",
    "AuthDBView.logout": "signing out needs no permission",
    "RadioSecurityApi.login": "the API login (rate-limited)",
    "health": "load balancer check, no data",
    "static": "CSS/JS/images",
    "favicon": "the logo as favicon (browsers ask before signing in)",
    "appbuilder.static": "FAB's CSS/JS",
    "LocaleView.index": "switches the UI language, then redirects within the site",
    "UtilView.back": "redirects to the previous page of the same site",
}
SKIP_METHODS = {"HEAD", "OPTIONS"}
_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _dummy_values(rule) -> dict[str, str]:
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if isinstance(converter, IntegerConverter):
            values[name] = "1"
        elif isinstance(converter, UUIDConverter):
            values[name] = str(uuid.uuid4())
        elif name == "filename":
            values[name] = "x.txt"
        elif name == "version":
            values[name] = "v1"
        else:
            values[name] = "1"
    return values


def _url(rule) -> str:
    values = _dummy_values(rule)
    return _ARG.sub(lambda m: values[m.group(1)], rule.rule)


def _cases(app, public_too: bool = False):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in PUBLIC and not public_too:
            continue
        for method in sorted(rule.methods - SKIP_METHODS):
            yield rule, method, _url(rule)


def _request(client, method: str, url: str):
    kwargs = {"json": {}} if url.startswith("/api/") and method in ("POST", "PUT", "PATCH") else {}
    return client.open(url, method=method, **kwargs)


def _refusal_problem(response, url: str) -> str | None:
    status = response.status_code
    if url.startswith("/api/"):
        if status not in (401, 403):
            return f"status {status}"
        if not response.is_json or "code" not in (response.get_json() or {}):
            return "refusal is not our JSON error shape"
        return None
    if status == 302:
        location = response.headers.get("Location", "")
        return None if "/login/" in location else f"302 to {location!r}, not to the login page"
    return None if status in (401, 403) else f"status {status}"


def test_every_endpoint_refuses_anonymous_requests(app, client):
    problems = []
    count = 0
    for rule, method, url in _cases(app):
        count += 1
        response = _request(client, method, url)
        problem = _refusal_problem(response, url)
        if problem:
            problems.append(f"{method} {url} ({rule.endpoint}): {problem}")
    assert count > 50, "the walk found suspiciously few endpoints"
    assert problems == [], "anonymous requests not refused:\n" + "\n".join(problems)


def test_public_endpoints_never_fail_or_redirect_off_site(app, client):
    for rule, method, url in _cases(app, public_too=True):
        if rule.endpoint not in PUBLIC or rule.endpoint in ("static", "appbuilder.static"):
            continue
        response = _request(client, method, url)
        assert response.status_code < 500, f"{method} {url}"
        location = response.headers.get("Location", "")
        assert not re.match(r"^(https?:)?//", location) or "//localhost" in location, (method, url, location)


def test_the_public_list_names_only_real_endpoints(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(PUBLIC) <= endpoints


def test_state_changing_apis_refuse_a_browser_session_without_bearer_token(app, client):
    """The API's CSRF exemption is safe only because a session cookie is never enough there."""
    login_page(client, "admin")
    problems = []
    for rule, method, url in _cases(app):
        if not url.startswith("/api/") or method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        if rule.endpoint == "RadioSecurityApi.refresh":
            continue
        response = _request(client, method, url)
        if response.status_code != 401:
            problems.append(f"{method} {url}: {response.status_code}")
    assert problems == []


@pytest.fixture(scope="module")
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def test_every_page_post_without_csrf_token_is_refused(csrf_app):
    with rolled_back(csrf_app):
        _post_everything_without_token(csrf_app)


def _post_everything_without_token(csrf_app):
    client = csrf_app.test_client()
    problems = []
    for _rule, method, url in _cases(csrf_app, public_too=True):
        if method != "POST" or url.startswith("/api/"):
            continue
        response = client.post(url, data={"username": "admin", "password": "radiopharma-demo"})
        if response.status_code != 400 or b"form expired" not in response.data:
            problems.append(f"POST {url}: {response.status_code}")
    assert problems == []


def test_unknown_fab_action_is_404_for_a_signed_in_user(client):
    login_page(client, "admin")
    assert client.post("/users/action/no-such-action/1").status_code == 404
    assert client.post("/users/action_post", data={"action": "no-such-action"}).status_code == 404

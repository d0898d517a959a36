"""Login: no user enumeration, rate limiting, CSRF on the form, no off-site redirects."""

from __future__ import annotations

import re
import secrets
import statistics
import time

import pytest

from config import redis_url_for_limiter
from tests.conftest import DEMO_PASSWORD, rolled_back


def _flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


# --- the same answer for an unknown user and a wrong password ------------------------------------
def _page_login(client, username: str, password: str):
    r = client.post("/login/", data={"username": username, "password": password})
    return r.status_code, r.headers.get("Location"), _flashes(client)


def test_login_page_answers_alike_for_unknown_user_and_wrong_password(app, db_session):
    unknown = _page_login(app.test_client(), "nobody-here", "some-password-123")
    wrong = _page_login(app.test_client(), "qp", "some-password-123")
    assert unknown == wrong
    status, location, flashes = wrong
    assert status == 302 and location.startswith("/login/")
    assert flashes, "the user is told that the login failed"


def _api_login(client, username: str, password: str):
    return client.post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db", "refresh": True},
    )


def test_api_login_answers_alike_for_unknown_user_and_wrong_password(app, db_session):
    client = app.test_client()
    unknown, wrong = _api_login(client, "nobody-here", "x" * 14), _api_login(client, "qp", "x" * 14)
    assert unknown.status_code == wrong.status_code == 401
    strip = lambda body: {k: v for k, v in body.items() if k != "traceId"}  # noqa: E731
    assert strip(unknown.get_json()) == strip(wrong.get_json())
    assert wrong.get_json()["code"] == "INVALID_CREDENTIALS"


def test_unknown_user_costs_a_password_hash_too(app, db_session):
    """Timing must not reveal whether the account exists (FAB checks a dummy hash)."""
    client = app.test_client()

    def median(username: str) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            _api_login(client, username, "wrong-password-123")
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    unknown, known = median("nobody-here"), median("qp")
    assert unknown > 0.4 * known, (unknown, known)


@pytest.mark.parametrize(
    "body",
    [
        {"username": "qp", "password": DEMO_PASSWORD},  # no provider: FAB answered 500
        {"username": "qp", "password": DEMO_PASSWORD, "provider": 7},
        {"username": "\U0009148cA", "password": "F\u00ec", "refresh": False},  # what the fuzz test sent
    ],
)
def test_api_login_without_a_provider_is_400_in_our_shape(app, db_session, body):
    r = app.test_client().post("/api/v1/security/login", json=body)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["code"] == "BAD_REQUEST" and r.get_json()["traceId"]


def test_successful_login_still_works(app, db_session):
    r = _api_login(app.test_client(), "qp", DEMO_PASSWORD)
    assert r.status_code == 200
    assert r.get_json()["access_token"]


# --- rate limiting ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def limited_app_once(make_app, redis_url):
    """Login limiter on, counting in the test Redis under a key prefix of its own."""
    return make_app(
        AUTH_RATE_LIMITED=True,
        AUTH_RATE_LIMIT="10 per minute",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=redis_url_for_limiter(redis_url),
        RATELIMIT_KEY_PREFIX=f"rp-test-{secrets.token_hex(4)}",
    )


@pytest.fixture
def limited_app(limited_app_once):
    with rolled_back(limited_app_once):  # sign-in audit rows are not kept
        yield limited_app_once


def test_eleventh_login_attempt_in_a_minute_is_refused_on_the_page(limited_app):
    client = limited_app.test_client()
    for attempt in range(10):
        r = client.post("/login/", data={"username": "qp", "password": f"wrong-{attempt}"})
        assert r.status_code == 302, attempt
    r = client.post("/login/", data={"username": "qp", "password": DEMO_PASSWORD})
    assert r.status_code == 429
    assert "text/html" in r.content_type
    assert "Too many attempts" in r.get_data(as_text=True)
    assert client.get("/login/").status_code == 200, "showing the form is not counted"


def test_eleventh_login_attempt_in_a_minute_is_refused_on_the_api(limited_app):
    client = limited_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    for attempt in range(10):
        assert _api_login(client, "qp", f"wrong-{attempt}").status_code == 401, attempt
    r = _api_login(client, "qp", DEMO_PASSWORD)
    assert r.status_code == 429
    assert r.get_json()["code"] == "TOO_MANY_REQUESTS"
    assert r.get_json()["traceId"]


def test_the_limit_counts_per_client_address(limited_app):
    client = limited_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.3"
    assert _api_login(client, "qp", DEMO_PASSWORD).status_code == 200


# --- CSRF on forms ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def csrf_app_once(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def csrf_app(csrf_app_once):
    with rolled_back(csrf_app_once):
        yield csrf_app_once


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "the login form carries a CSRF token"
    return match.group(1)


def test_login_form_post_without_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    r = client.post("/login/", data={"username": "admin", "password": DEMO_PASSWORD})
    assert r.status_code == 400
    assert "form expired" in r.get_data(as_text=True)
    assert client.get("/users/list/").status_code == 302, "not signed in"


def test_login_form_post_with_csrf_token_signs_in(csrf_app):
    client = csrf_app.test_client()
    token = _csrf_token(client.get("/login/").get_data(as_text=True))
    r = client.post("/login/", data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    assert client.get("/users/list/").status_code == 200


def test_api_login_needs_no_csrf_token_but_a_json_body(csrf_app):
    assert _api_login(csrf_app.test_client(), "admin", DEMO_PASSWORD).status_code == 200


# --- no off-site redirects -------------------------------------------------------------------------
EVIL = ("https://evil.example/steal", "//evil.example/steal", "http://evil.example", "///evil.example/x")


def _is_off_site(location: str) -> bool:
    return "evil.example" in location


@pytest.mark.parametrize("target", EVIL)
def test_login_next_cannot_redirect_off_site(app, db_session, target):
    client = app.test_client()
    r = client.post(
        "/login/", query_string={"next": target}, data={"username": "qp", "password": DEMO_PASSWORD}
    )
    assert r.status_code == 302
    assert not _is_off_site(r.headers["Location"]), r.headers["Location"]
    # and once signed in, visiting the login page with next= does not bounce off-site either
    r = client.get("/login/", query_string={"next": target})
    assert not _is_off_site(r.headers.get("Location", "")), r.headers.get("Location")


@pytest.mark.parametrize("target", EVIL)
def test_forged_host_header_cannot_make_an_off_site_redirect(app, db_session, target):
    client = app.test_client()
    r = client.post(
        "/login/",
        query_string={"next": target},
        data={"username": "qp", "password": DEMO_PASSWORD},
        headers={"Host": "evil.example"},
    )
    assert r.status_code == 302
    assert not _is_off_site(r.headers["Location"]), r.headers["Location"]


def test_login_next_to_a_page_of_this_site_is_followed(app, db_session):
    client = app.test_client()
    r = client.post(
        "/login/",
        query_string={"next": "/users/list/"},
        data={"username": "admin", "password": DEMO_PASSWORD},
    )
    assert r.headers["Location"] == "/users/list/"


def test_safe_redirect_hosts_are_never_empty():
    """Empty would make FAB trust the request's Host header."""
    from config import Config

    assert Config.FAB_SAFE_REDIRECT_HOSTS
    assert not any("*" in host or "?" in host for host in Config.FAB_SAFE_REDIRECT_HOSTS)


def test_successful_sign_ins_do_not_use_up_the_limit(limited_app):
    """A lab team signing in one after another from one PC is never locked out."""
    client = limited_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.4"
    for attempt in range(12):
        assert _api_login(client, "qp", DEMO_PASSWORD).status_code == 200, attempt
        r = client.post("/login/", data={"username": "qp", "password": DEMO_PASSWORD})
        assert r.status_code == 302 and not r.headers["Location"].startswith("/login"), attempt
        client.get("/logout/")


def test_every_rate_limit_counts_posts_only_so_reads_skip_the_limiter(app):
    """Reads skip Flask-Limiter's per-request work (issue 16): safe only while no limit of the
    application applies to another method. A new limit on a GET must change LIMITED_METHODS."""
    from app.security.manager import LIMITED_METHODS

    limiter = app.appbuilder.sm.limiter
    manager = limiter.limit_manager
    limits = [
        *manager.application_limits,
        *manager.default_limits,
        *(limit for group in manager._decorated_limits.values() for limit in group),
        *(limit for group in manager._blueprint_limits.values() for limit in group),
    ]
    assert limits  # the login page's and the login API's
    for limit in limits:
        assert limit.methods and {m.upper() for m in limit.methods} <= LIMITED_METHODS, limit


def test_reads_return_before_flask_limiter_resolves_any_limit(limited_app, monkeypatch):
    """With the limiter on, its before_request check is wrapped: a GET never enters Flask-Limiter
    (issue 16), a POST still does and is still counted (the tests above)."""
    limiter = limited_app.appbuilder.sm.limiter
    hooks = limited_app.before_request_funcs[None]
    assert limiter._check_request_limit not in hooks
    assert any(getattr(f, "__name__", "") == "check_request_limit" for f in hooks)
    resolved = []
    monkeypatch.setattr(limiter, "identify_request", lambda: resolved.append(1) or "x", raising=True)
    client = limited_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.5"
    assert client.get("/login/").status_code == 200
    assert resolved == []

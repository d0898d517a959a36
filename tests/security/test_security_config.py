"""Cookies, refusing unsafe defaults, and the password policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from config import DEFAULT_DEMO_PASSWORD, DEFAULT_SECRET_KEY, Config
from tests.conftest import DEMO_PASSWORD, ROOT, login_page, rolled_back

COOKIE_SETTINGS = (
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_SECURE",
    "REMEMBER_COOKIE_SECURE",
)


def _config_read_in(env: dict[str, str]) -> dict:
    """config.Config as a fresh process with exactly this environment would see it."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DEMO_MODE", "FLASK_DEBUG")}
    code = f"import json, config; print(json.dumps({{k: getattr(config.Config, k) for k in {COOKIE_SETTINGS!r}}}))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


# --- cookies ---------------------------------------------------------------------------------------
def test_production_config_makes_session_cookies_secure_httponly_samesite():
    production = _config_read_in({})
    assert production == {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_SECURE": True,
    }


@pytest.mark.parametrize("env", [{"DEMO_MODE": "1"}, {"FLASK_DEBUG": "1"}])
def test_demo_and_debug_allow_plain_http_cookies(env):
    settings = _config_read_in(env)
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["SESSION_COOKIE_HTTPONLY"] is True


def _session_cookie_header(app) -> str:
    client = app.test_client()
    r = client.post("/login/", data={"username": "qp", "password": DEMO_PASSWORD})
    assert r.status_code == 302
    cookies = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert cookies, r.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite(app, db_session):
    header = _session_cookie_header(app)
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_production_session_cookie_is_secure(make_app):
    production = _config_read_in({})
    app = make_app(
        TESTING=False,
        DEMO_MODE=False,
        SECRET_KEY="a-real-secret-from-the-environment-0123456789",
        DEMO_PASSWORD="not-the-published-demo-password",
        AUDIT_HMAC_KEY="an-audit-key-from-the-environment-0123456789",
        **production,
    )
    with rolled_back(app):
        header = _session_cookie_header(app)
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


# --- refusing to start on published defaults -------------------------------------------------------
PRODUCTION = {"DEBUG": False, "DEMO_MODE": False, "TESTING": False, "AUDIT_HMAC_KEY": "k" * 32}


@pytest.mark.parametrize(
    ("secret", "password", "refused"),
    [
        (DEFAULT_SECRET_KEY, "something-else-entirely", True),
        ("", "something-else-entirely", True),
        ("a-real-secret-0123456789abcdef", DEFAULT_DEMO_PASSWORD, True),
        ("a-real-secret-0123456789abcdef", "something-else-entirely", False),
    ],
)
def test_production_refuses_default_secret_or_demo_password(secret, password, refused):
    config = {**PRODUCTION, "SECRET_KEY": secret, "DEMO_PASSWORD": password}
    if refused:
        with pytest.raises(RuntimeError, match="Refusing to start"):
            Config.refuse_unsafe_defaults(config)
    else:
        Config.refuse_unsafe_defaults(config)


@pytest.mark.parametrize("mode", ["DEBUG", "DEMO_MODE"])
def test_debug_and_demo_may_use_the_defaults(mode):
    Config.refuse_unsafe_defaults(
        {**PRODUCTION, mode: True, "SECRET_KEY": DEFAULT_SECRET_KEY, "DEMO_PASSWORD": DEFAULT_DEMO_PASSWORD}
    )


@pytest.mark.parametrize("key", ["", "too-short"])
def test_production_refuses_to_start_without_an_audit_hmac_key(key):
    config = {**PRODUCTION, "SECRET_KEY": "a-real-secret-0123456789abcdef", "AUDIT_HMAC_KEY": key}
    with pytest.raises(RuntimeError, match="AUDIT_HMAC_KEY"):
        Config.refuse_unsafe_defaults(config)


def test_create_app_refuses_to_start_with_the_default_secret(make_app):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make_app(TESTING=False, DEMO_MODE=False, DEBUG=False, SECRET_KEY=DEFAULT_SECRET_KEY)


# --- password policy: length >= 12, no composition rules -------------------------------------------
def test_password_validator_checks_length_only(app_ctx):
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    from app.security.passwords import validate_password

    validate_password("correcthorse")  # 12 lowercase letters: fine
    validate_password("sunny meadow lane")
    with pytest.raises(PasswordComplexityValidationError, match="12"):
        validate_password("correcthors")  # 11


def _add_user(client, username: str, password: str):
    from flask import current_app

    role = current_app.appbuilder.sm.find_role("Planner")
    return client.post(
        "/users/add",
        data={
            "first_name": "Test",
            "last_name": "Planner",
            "username": username,
            "email": f"{username}@example.org",
            "active": "y",
            "roles": str(role.id),
            "password": password,
            "conf_password": password,
        },
    )


def test_user_form_accepts_a_12_character_lowercase_passphrase(app_ctx, client):
    from flask import current_app

    login_page(client, "admin")
    r = _add_user(client, "newplanner", "bluecoffeecup")
    assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    assert current_app.appbuilder.sm.find_user(username="newplanner") is not None


def test_user_form_refuses_an_11_character_password(app_ctx, client):
    from flask import current_app

    login_page(client, "admin")
    r = _add_user(client, "shortpw", "bluecoffeec")
    assert r.status_code == 200
    assert "at least 12 characters" in r.get_data(as_text=True)
    assert current_app.appbuilder.sm.find_user(username="shortpw") is None

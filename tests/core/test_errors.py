"""Errors: one JSON shape for the API, friendly pages, a trace id everywhere, no stack traces."""

from __future__ import annotations

import pytest

from app.core.domain import DomainError

LEAKS = ("Traceback", 'File "', "sqlalchemy", "psycopg", "SELECT ", "RuntimeError", "secret-detail")


@pytest.fixture(scope="module")
def boom_app(make_app):
    """An app with test-only routes that fail in the ways production code can."""
    application = make_app(PROPAGATE_EXCEPTIONS=False)

    def _raise():
        raise RuntimeError("secret-detail: password=hunter2 in SELECT * FROM ab_user")

    def _domain():
        raise DomainError("BATCH_NOT_RELEASED", "The batch is not released yet.", 409)

    for prefix in ("/api/v1/_test", "/_test"):
        application.add_url_rule(f"{prefix}/boom", f"{prefix}-boom", _raise, methods=["GET", "POST"])
        application.add_url_rule(f"{prefix}/domain", f"{prefix}-domain", _domain)
    return application


def _assert_error_shape(r, status: int, code: str | None = None):
    assert r.status_code == status
    assert r.is_json, r.data[:200]
    body = r.get_json()
    assert {"code", "userMessage", "traceId"} <= body.keys()
    assert body["userMessage"]
    assert body["traceId"] == r.headers["X-Request-ID"]
    if code:
        assert body["code"] == code
    return body


def test_unknown_api_path_is_404_json(client):
    r = client.get("/api/v1/no-such-thing/")
    _assert_error_shape(r, 404, "NOT_FOUND")


def test_unknown_page_is_a_friendly_404_page_with_trace_id(client):
    r = client.get("/no-such-page/")
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    assert r.headers["X-Request-ID"] in r.get_data(as_text=True)


def test_incoming_request_id_is_kept_and_echoed(client):
    r = client.get("/api/v1/no-such-thing/", headers={"X-Request-ID": "lab-7f3a-0001"})
    assert r.headers["X-Request-ID"] == "lab-7f3a-0001"
    assert r.get_json()["traceId"] == "lab-7f3a-0001"


def test_unsafe_request_id_is_replaced(client):
    r = client.get("/health", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert r.headers["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(r.headers["X-Request-ID"]) == 32


def test_every_response_carries_a_request_id(client):
    assert client.get("/health").headers.get("X-Request-ID")
    assert client.get("/login/").headers.get("X-Request-ID")


def test_malformed_json_is_400_json(client):
    r = client.post(
        "/api/v1/security/login", data='{"username": "admin", "password":', content_type="application/json"
    )
    _assert_error_shape(r, 400)


def test_unexpected_error_is_500_json_without_a_stack_trace(boom_app):
    r = boom_app.test_client().get("/api/v1/_test/boom")
    body = _assert_error_shape(r, 500, "INTERNAL_ERROR")
    text = r.get_data(as_text=True)
    assert not [leak for leak in LEAKS if leak in text], body


def test_unexpected_error_on_a_page_shows_a_friendly_page_without_a_stack_trace(boom_app):
    r = boom_app.test_client().get("/_test/boom")
    assert r.status_code == 500
    text = r.get_data(as_text=True)
    assert r.headers["X-Request-ID"] in text
    assert not [leak for leak in LEAKS if leak in text]


def test_domain_error_becomes_json_with_its_code_and_status(boom_app):
    r = boom_app.test_client().get("/api/v1/_test/domain")
    body = _assert_error_shape(r, 409, "BATCH_NOT_RELEASED")
    assert body["userMessage"] == "The batch is not released yet."


def test_domain_error_on_a_page_shows_its_message(boom_app):
    r = boom_app.test_client().get("/_test/domain")
    assert r.status_code == 409
    assert "The batch is not released yet." in r.get_data(as_text=True)


def test_method_not_allowed_on_api_is_json(client):
    r = client.delete("/api/v1/security/login")
    _assert_error_shape(r, 405)

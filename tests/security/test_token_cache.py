"""A bearer token's signature is verified once per process; expiry is checked on every use."""

from __future__ import annotations

import contextlib
import datetime as dt
import time

import pytest
from flask_jwt_extended import create_access_token

from tests.conftest import rolled_back


@pytest.fixture
def floor_app(app, make_app):  # `app`: the test database is built
    from flask_appbuilder.api import BaseApi, expose
    from flask_appbuilder.security.decorators import protect

    class _Ping(BaseApi):
        resource_name = "token-cache-ping"
        class_permission_name = "Batch"
        method_permission_name = {"ping": "read"}

        @expose("/", methods=["GET"])
        @protect()
        def ping(self):
            return self.response(200, ok=True)

    variant = make_app()
    with variant.app_context():
        variant.appbuilder.add_api(_Ping)
    return variant


@contextlib.contextmanager
def _counting(owner, name: str):
    """`owner.name` replaced by a wrapper that records each call's arguments, for the block."""
    calls: list[tuple] = []
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    setattr(owner, name, wrapper)
    try:
        yield calls
    finally:
        setattr(owner, name, real)


def _signed_in(app, seconds: float) -> tuple[str, object, dict[str, str]]:
    """The planner's bearer token valid for `seconds`, a client, and the header that carries it."""
    token = _token(app, "planner", seconds)
    return token, app.test_client(), {"Authorization": f"Bearer {token}"}


def _token(app, username: str, seconds: float) -> str:
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        return create_access_token(identity=str(user.id), expires_delta=dt.timedelta(seconds=seconds))


def test_a_token_is_decoded_once_then_taken_from_the_cache(floor_app):
    with rolled_back(floor_app):
        token, client, headers = _signed_in(floor_app, 300)
        import jwt

        with _counting(jwt.api_jwt._jwt_global_obj, "decode_complete") as calls:
            for _ in range(5):
                assert client.get("/api/v1/token-cache-ping/", headers=headers).status_code == 200
        assert 0 < len(calls) <= 2  # the first request only (FAB decodes it unverified, then verified)


def test_an_expired_token_is_refused_although_it_verified_before(floor_app):
    with rolled_back(floor_app):
        token, client, headers = _signed_in(floor_app, 1.5)
        assert client.get("/api/v1/token-cache-ping/", headers=headers).status_code == 200
        time.sleep(2.1)
        r = client.get("/api/v1/token-cache-ping/", headers=headers)
        assert r.status_code == 401 and r.get_json()["code"] == "TOKEN_EXPIRED"


def test_a_changed_token_is_not_taken_for_the_cached_one(floor_app):
    with rolled_back(floor_app):
        token = _token(floor_app, "planner", 300)
        client = floor_app.test_client()
        assert (
            client.get("/api/v1/token-cache-ping/", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        r = client.get("/api/v1/token-cache-ping/", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401


def test_a_tokens_header_is_read_once(floor_app):
    """flask_jwt_extended reads the header again after each decode: remembered per token text."""
    import jwt

    from app.security import manager

    with rolled_back(floor_app):
        token, client, headers = _signed_in(floor_app, 300)
        assert client.get("/api/v1/token-cache-ping/", headers=headers).status_code == 200
        with _counting(manager.jwt, "get_unverified_header") as calls:
            for _ in range(3):
                assert client.get("/api/v1/token-cache-ping/", headers=headers).status_code == 200
        assert calls == []  # after the first request: neither the signature nor the header again
        assert manager._unverified_header(token) == jwt.get_unverified_header(
            token
        )  # the header itself, unchanged

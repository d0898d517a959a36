"""Permission checks come from a per-process cache keyed by the database's permissions version.

Rules (issue 16):
- A protected API endpoint that does nothing sends at most one SQL statement per request (the user
  with its roles), once the cache is warm and the version was read within the last ~2 s.
- Every change to roles, permissions or a user's roles bumps the version in the same transaction,
  whatever writes it (FAB's views and APIs, `flask rp sync-perms`, plain SQL).
- A revoked permission takes effect in another process within 5 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect
from sqlalchemy import text

from tests.conftest import ROOT, Api, rolled_back
from tests.statement_counting import counted as count_statements

MAX_STATEMENTS_PER_REQUEST = 1


class _FloorApi(BaseApi):
    """Does nothing but FAB's JWT and permission check."""

    resource_name = "perm-cache-floor"
    class_permission_name = "Batch"
    method_permission_name = {"ping": "read"}

    @expose("/", methods=["GET"])
    @protect(allow_browser_login=True)
    def ping(self):
        return self.response(200, ok=True)


@pytest.fixture(scope="module")
def floor_app(app, make_app):
    variant = make_app(RP_PERMISSIONS_VERSION_TTL_S=60.0)
    with variant.app_context():
        variant.appbuilder.add_api(_FloorApi)
    return variant


def counted(app):
    """Every statement the app sends in the block, the permissions version reads included."""
    from app.core.extensions import db

    with app.app_context():
        engine = db.engine
    return count_statements(engine, version_reads=True)


def _version(session) -> int:
    return session.execute(text("SELECT version FROM rp_permissions_version WHERE id = 1")).scalar_one()


def test_protected_do_nothing_endpoint_sends_at_most_one_statement(floor_app):
    with rolled_back(floor_app):
        api = Api(floor_app.test_client(), "planner")
        for _ in range(3):  # warm: version read, role permissions loaded
            assert api.get("/api/v1/perm-cache-floor/").status_code == 200
        with counted(floor_app) as seen:
            for _ in range(20):
                assert api.get("/api/v1/perm-cache-floor/").status_code == 200
    per_request = len(seen) / 20
    assert per_request <= MAX_STATEMENTS_PER_REQUEST, "\n---\n".join(seen[:6])


def test_a_warm_request_sends_no_sql_at_all(floor_app):
    """The user comes from the same cache as the permissions: no statement, not even BEGIN."""
    with rolled_back(floor_app):
        api = Api(floor_app.test_client(), "planner")
        for _ in range(3):
            assert api.get("/api/v1/perm-cache-floor/").status_code == 200
        with counted(floor_app) as seen:
            for _ in range(10):
                assert api.get("/api/v1/perm-cache-floor/").status_code == 200
    assert seen == []


def test_each_request_gets_its_own_detached_copy_of_the_cached_user(floor_app):
    from sqlalchemy import inspect

    from app.core.extensions import db

    sm = floor_app.appbuilder.sm
    with rolled_back(floor_app), floor_app.test_request_context():
        planner = sm.find_user(username="planner")
        uid, roles = planner.id, sorted(r.name for r in planner.roles)
        db.session.expunge_all()
        sm.load_user(uid)  # loads and caches
        first, second = sm.load_user(uid), sm.load_user(uid)
        assert first is not second and first.roles[0] is not second.roles[0]
        for copy in (first, second):
            assert inspect(copy).detached and copy.id == uid and copy.username == "planner"
            assert sorted(r.name for r in copy.roles) == roles and copy.is_active
        with counted(floor_app) as seen:
            db.session.add(first)  # attached by mistake: nothing pending, nothing written
            db.session.flush()
        assert not [s for s in seen if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]


def test_a_deactivated_user_is_refused_at_once_in_this_process(floor_app):
    with rolled_back(floor_app) as session:
        api = Api(floor_app.test_client(), "planner")
        assert api.get("/api/v1/perm-cache-floor/").status_code == 200
        user = floor_app.appbuilder.sm.find_user(username="planner")
        user.active = False
        session.commit()
        assert api.get("/api/v1/perm-cache-floor/").status_code == 401


def test_user_key_columns_bump_the_version_and_sign_in_bookkeeping_does_not(app_ctx, db_session):
    start = _version(db_session)
    db_session.execute(text("UPDATE ab_user SET login_count = login_count + 1, last_login = now()"))
    assert _version(db_session) == start  # every sign-in writes these: no cache is dropped for them
    for column, value in (("active", "active"), ("password", "password || ''"), ("email", "email")):
        before = _version(db_session)
        db_session.execute(text(f"UPDATE ab_user SET {column} = {value} WHERE username = 'planner'"))
        assert _version(db_session) != before, column


def test_permission_denied_is_still_denied_from_the_cache(floor_app):
    with rolled_back(floor_app):
        api = Api(floor_app.test_client(), "planner")
        assert api.get("/api/v1/perm-cache-floor/").status_code == 200
        anonymous = floor_app.test_client()
        assert anonymous.get("/api/v1/perm-cache-floor/").status_code == 401
        hospital = Api(floor_app.test_client(), "hospital")
        # Customer users read batches (their own); a role without Batch read gets 403.
        sm = floor_app.appbuilder.sm
        role = sm.add_role("NoBatchRead")
        user = sm.find_user(username="hospital")
        user.roles = [role]
        sm.session.commit()
        assert hospital.get("/api/v1/perm-cache-floor/").status_code == 403


def test_every_change_to_roles_or_permissions_bumps_the_version_in_its_transaction(app_ctx, db_session):
    sm = app_ctx.appbuilder.sm
    start = _version(db_session)
    role = sm.add_role("VersionProbe")
    assert _version(db_session) != start
    after_role = _version(db_session)
    pv = sm.find_permission_view_menu("can_read", "Batch")
    sm.add_permission_role(role, pv)
    assert _version(db_session) != after_role
    after_grant = _version(db_session)
    db_session.execute(text("DELETE FROM ab_user_role WHERE id = -1"))  # plain SQL, even touching no row
    assert _version(db_session) != after_grant


def test_sync_perms_bumps_the_version(app_ctx, db_session):
    from app.security.sync import sync_roles

    sm = app_ctx.appbuilder.sm
    role = sm.find_role("Planner")
    role.permissions = role.permissions[1:]  # drift from the matrix
    db_session.commit()
    before = _version(db_session)
    assert sync_roles(app_ctx.appbuilder).get("Planner")
    assert _version(db_session) != before


def test_revoking_in_this_process_applies_at_once(floor_app):
    with rolled_back(floor_app) as session:
        api = Api(floor_app.test_client(), "planner")
        assert api.get("/api/v1/perm-cache-floor/").status_code == 200
        sm = floor_app.appbuilder.sm
        role = sm.find_role("Planner")
        role.permissions = [
            pv for pv in role.permissions if (pv.permission.name, pv.view_menu.name) != ("can_read", "Batch")
        ]
        session.commit()
        assert api.get("/api/v1/perm-cache-floor/").status_code == 403


def test_a_rolled_back_grant_is_not_left_in_the_cache(floor_app):
    sm = floor_app.appbuilder.sm
    extra = ("can_verify", "AuditLog")
    with rolled_back(floor_app) as session, floor_app.test_request_context():
        planner = sm.find_role("Planner")
        assert extra not in sm.cached_role_permissions([planner])
        sm.add_permission_role(planner, sm.find_permission_view_menu(*extra))
        session.commit()
        assert extra in sm.cached_role_permissions([planner])
    # Rolled back; the TTL (60 s here) has not run out, yet the grant is gone from the cache.
    with rolled_back(floor_app), floor_app.test_request_context():
        assert extra not in sm.cached_role_permissions([sm.find_role("Planner")])


PROBE = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from config import TestConfig
    from app import create_app
    from flask_jwt_extended import create_access_token

    class C(TestConfig):
        SQLALCHEMY_DATABASE_URI = {db!r}
        REDIS_URL = {redis!r}

    app = create_app(C)
    with app.app_context():
        token = create_access_token(identity=str({uid}))
    client = app.test_client()
    headers = {{"Authorization": "Bearer " + token}}
    ready = False
    deadline = time.time() + 60
    while time.time() < deadline:
        status = client.get("/api/v1/batches/999999999", headers=headers).status_code
        if status not in {denied} and not ready:
            ready = True
            print("READY", status, flush=True)
        elif status in {denied} and ready:
            print("DENIED", time.time(), flush=True)
            break
        time.sleep(0.05)
    """
)


def _seconds_until_another_process_refuses(app, uid, denied, change, database_url, redis_url) -> float:
    """Start a second process that signs in as `uid` and polls until refused with a `denied` status;
    once it is warm and its version check is a while old, `change()` commits here. The seconds from
    that commit to the other process's first refusal."""
    script = PROBE.format(root=str(ROOT), db=database_url, redis=redis_url, uid=uid, denied=denied)
    probe = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DEMO_MODE": "1"},
    )
    try:
        line = probe.stdout.readline()
        assert line.startswith("READY"), line + probe.stderr.read()
        assert line.split()[1] == "404"
        time.sleep(2.5)  # the other process's version check is now a while old
        with app.app_context():
            change()
            changed_at = time.time()
        line = probe.stdout.readline()
        assert line.startswith("DENIED"), line + probe.stderr.read()
        return float(line.split()[1]) - changed_at
    finally:
        probe.kill()
        probe.wait()


def test_revoked_permission_applies_in_another_process_within_5_seconds(
    app, committed, database_url, redis_url
):
    from flask_appbuilder.security.sqla.models import Role

    sm = app.appbuilder.sm
    with app.app_context():
        role = sm.add_role("CacheProbe")
        sm.add_permission_role(role, sm.find_permission_view_menu("can_read", "Batch"))
        user = sm.add_user("cacheprobe", "Cache", "Probe", "cacheprobe@example.org", [role], "x" * 16)
        uid, role_id = user.id, role.id
        committed.commit()

    def revoke() -> None:
        committed.get(Role, role_id).permissions = []
        committed.commit()

    assert _seconds_until_another_process_refuses(app, uid, (403,), revoke, database_url, redis_url) < 5.0


def test_a_deactivated_user_is_refused_in_another_process_within_5_seconds(
    app, committed, database_url, redis_url
):
    """The other process caches the user with its permissions; deactivating bumps the version."""
    from flask_appbuilder.security.sqla.models import User

    sm = app.appbuilder.sm
    with app.app_context():
        user = sm.add_user(
            "cacheprobe2", "Cache", "Probe", "cacheprobe2@example.org", [sm.find_role("Planner")], "x" * 16
        )
        uid = user.id
        committed.commit()

    def deactivate() -> None:
        committed.get(User, uid).active = False
        committed.commit()

    assert _seconds_until_another_process_refuses(app, uid, (401,), deactivate, database_url, redis_url) < 5.0


def test_a_page_user_s_revoked_permission_applies_on_the_next_request(app, client, db_session):
    """Pages ask has_access about sixty times a request and remember the answer set for that request
    only: the next request (here in the same app context, as in these tests) sees the revocation."""
    from tests.conftest import login_page

    login_page(client, "planner")
    page = client.get("/batches/")
    assert page.status_code == 200 and 'href="/batches/"' in page.get_data(as_text=True)
    sm = app.appbuilder.sm
    role = sm.find_role("Planner")
    role.permissions = [
        pv for pv in role.permissions if (pv.permission.name, pv.view_menu.name) != ("can_read", "Batch")
    ]
    db_session.commit()
    refused = client.get("/batches/")
    assert refused.status_code in (302, 403)
    home = client.get("/")
    assert home.status_code == 200


def test_a_bearer_api_call_is_checked_once(floor_app, monkeypatch):
    """FAB's protect asked has_access twice per API call (False before the token was read, then True);
    the token is now read at the first check (issue 16)."""
    sm = floor_app.appbuilder.sm
    with rolled_back(floor_app):
        api = Api(floor_app.test_client(), "planner")
        answers = []
        original = sm.has_access
        monkeypatch.setattr(sm, "has_access", lambda *a: answers.append(original(*a)) or answers[-1])
        assert api.get("/api/v1/perm-cache-floor/").status_code == 200
        assert answers == [True]
        answers.clear()
        bad = api.get("/api/v1/perm-cache-floor/", headers={"Authorization": "Bearer not-a-token"})
        assert bad.status_code in (401, 422) and bad.get_json()["code"] in ("TOKEN_INVALID", "UNAUTHORIZED")
        assert answers == []  # refused while the token was read, as FAB's own verification refuses it


def test_a_token_read_for_one_request_does_not_sign_in_the_next(floor_app):
    """A test that keeps one app context open shares one `g` across requests: a token verified for
    an earlier request must not stand in for the next one, which sends none."""
    from flask import g

    sm = floor_app.appbuilder.sm
    with rolled_back(floor_app):
        client = floor_app.test_client()
        api = Api(client, "planner")
        assert api.get("/api/v1/perm-cache-floor/").status_code == 200
        assert g.get("_jwt_extended_jwt_user")["loaded_user"].username == "planner"  # left in the shared g
        assert client.get("/api/v1/perm-cache-floor/").status_code == 401
        with floor_app.test_request_context("/api/v1/perm-cache-floor/"):
            floor_app.preprocess_request()  # the before_request functions of a new request
            assert g.get("_jwt_extended_jwt_user") is None
            assert sm._request_user() is None
            assert sm.has_access("can_read", "Batch") is False


def test_pages_never_read_a_bearer_token(floor_app):
    with rolled_back(floor_app):
        client = floor_app.test_client()
        api = Api(client, "planner")
        page = client.get("/batches/", headers=api.headers)
        assert page.status_code == 302 and "/login" in page.headers["Location"]

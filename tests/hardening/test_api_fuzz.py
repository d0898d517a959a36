"""Schemathesis over the whole OpenAPI document, as Admin and as QC Analyst, against a live server
thread (issue 14 section 2): no operation may answer a 5xx, whatever the generated input.

Bounded: FUZZ_EXAMPLES examples per operation and role (positive and negative generation), no
shrinking, no example database, so the whole test stays within a few minutes. The server runs the
session app in a werkzeug thread and sees committed data only (the `committed` fixture empties the
business tables afterwards).
"""

from __future__ import annotations

import os
import threading

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_PASSWORD

schemathesis = pytest.importorskip("schemathesis")

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
ROLES = ("admin", "qc")
SKIP = ("/api/v1/security/refresh", "/api/{version}/_openapi")


@pytest.fixture(scope="module")
def fuzz_server(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fuzz-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _token(base: str, username: str) -> str:
    r = requests.post(
        f"{base}/api/v1/security/login",
        json={"username": username, "password": DEMO_PASSWORD, "provider": "db", "refresh": False},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_no_operation_answers_5xx(fuzz_server, committed):
    from schemathesis import GenerationMode

    base = fuzz_server
    tokens = {user: _token(base, user) for user in ROLES}
    raw = requests.get(
        f"{base}/api/v1/_openapi", headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=60
    ).json()
    raw["servers"] = [{"url": base}]
    schema = schemathesis.openapi.from_dict(raw)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path not in SKIP]
    assert len(operations) > 100, len(operations)

    server_errors: list[str] = []
    calls = 0
    for op in operations:
        strategy = st.one_of(
            op.as_strategy(generation_mode=GenerationMode.POSITIVE),
            op.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, user=st.sampled_from(ROLES))
        def run(case, user):
            nonlocal calls
            calls += 1
            headers = {**(case.headers or {}), "Authorization": f"Bearer {tokens[user]}"}
            try:
                response = case.call(base_url=base, headers=headers, timeout=30)
            except requests.exceptions.InvalidHeader:
                return  # the client refuses to send the generated header at all
            if response.status_code >= 500:
                body = response.text[:200].replace("\n", " ")
                server_errors.append(
                    f"{user} {case.method} {case.formatted_path} query={case.query!r} "
                    f"body={str(case.body)[:120]!r} -> {response.status_code} {body}"
                )

        run()
    print(f"fuzzed {len(operations)} operations with {calls} requests")
    assert not server_errors, f"{len(server_errors)} server errors:\n" + "\n".join(server_errors[:40])

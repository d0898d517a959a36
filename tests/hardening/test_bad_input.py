"""Hostile input answers 4xx {code,userMessage,traceId}, never 500 (issue 14, section 2)."""

from __future__ import annotations

import json

import pytest

from tests.batch_factories import new_batch
from tests.conftest import login_page

BIG = 2147483648
HUGE = "99999999999999999999"


def _err(r, status):
    assert r.status_code == status, (r.status_code, r.data[:300])
    if r.is_json:
        assert {"code", "userMessage", "traceId"} <= r.get_json().keys()


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/batches/{BIG}",
        f"/api/v1/batches/{HUGE}",
        f"/api/v1/batches/{BIG}/events",
        f"/api/v1/batches/{BIG}/events.csv",
        f"/api/v1/batches/{BIG}/qc-session",
        f"/api/v1/batches/{BIG}/release",
        f"/api/v1/batches/{BIG}/coa",
    ],
)
def test_ids_beyond_32_bits_are_404_on_the_api(api, url):
    _err(api("admin").get(url), 404)


@pytest.mark.parametrize(
    "url",
    [
        f"/batches/{HUGE}",
        f"/batches/{BIG}/qc",
        f"/batches/{BIG}/export.csv",
        f"/release/{BIG}",
        f"/users/show/{BIG}",
    ],
)
def test_ids_beyond_32_bits_are_404_on_pages(client, url):
    login_page(client, "admin")
    r = client.get(url)
    assert r.status_code == 404, (url, r.status_code)


@pytest.mark.parametrize("q", [f"(page:{HUGE})", "(page:-1)", f"(page_size:{HUGE})", "(page:0,page_size:-5)"])
def test_rison_page_out_of_range_is_422(api, q):
    _err(api("admin").get("/api/v1/nuclides/", query_string={"q": q}), 422)


def test_nul_bytes_are_422_in_query_form_and_json(api, client):
    admin = api("admin")
    _err(admin.get("/api/v1/batches/?q=x%00y"), 422)
    _err(admin.get("/api/v1/batches/", query_string={"search": "a\x00b"}), 422)
    _err(admin.post("/api/v1/batches/", json={"product_code": "FD\x00G"}), 422)
    login_page(client, "admin")
    r = client.post("/nuclides/add", data={"symbol": "X\x00"})
    assert r.status_code in (302, 422) and r.status_code != 500


def test_json_over_one_mib_is_413_before_parsing(api):
    body = json.dumps({"note": "x" * (1024 * 1024 + 10)})
    r = api("planner").post("/api/v1/batches/", data=body, headers={"Content-Type": "application/json"})
    _err(r, 413)


@pytest.mark.parametrize(
    ("user", "url"),
    [
        ("planner", "/api/v1/batches/"),
        ("qcmanager", "/api/v1/qc/test-definitions"),
        ("hospital", "/api/v1/reservations"),
        ("admin", "/api/v1/products/"),
    ],
)
@pytest.mark.parametrize("body", ['{"product_code": "FDG",', "nope", "{'single': 'quotes'}", b"\xff\xfe{"])
def test_malformed_json_is_400_bad_request_everywhere(api, user, url, body):
    """Issue 13 item 9: a body that is not JSON could not be read (400); JSON with wrong fields is 422."""
    r = api(user).post(url, data=body, headers={"Content-Type": "application/json"})
    _err(r, 400)
    assert r.get_json()["code"] == "BAD_REQUEST"
    assert "not valid JSON" in r.get_json()["userMessage"]


def test_well_formed_json_with_wrong_fields_stays_422(api):
    _err(api("planner").post("/api/v1/batches/", json={"product_code": 5}), 422)


def test_json_nested_5000_deep_is_400(api):
    body = "[" * 5000 + "]" * 5000
    r = api("planner").post("/api/v1/batches/", data=body, headers={"Content-Type": "application/json"})
    _err(r, 400)


def test_wrong_json_types_are_422(app_ctx, api):
    planner = api("planner")
    start = {"planned_start_at": "2026-11-22T02:30:00+00:00", "planned_end_at": "2026-11-22T03:30:00+00:00"}
    for body in (
        {"product_code": "FDG", "site_code": 5, **start},
        {"product_code": "FDG", "customer_codes": [1], **start},
        {"product_code": 5, **start},
        {"product_code": "FDG", "note": {"x": 1}, **start},
    ):
        _err(planner.post("/api/v1/batches/", json=body), 422)
    batch = new_batch()
    _err(
        planner.post(
            f"/api/v1/batches/{batch.id}/transition",
            json={"to_status": "SCHEDULED", "signature_id": 9223372036854775808},
        ),
        422,
    )
    _err(api("prod").post(f"/api/v1/batches/{batch.id}/deviations", json={"reason": {"x": 1}}), 422)


def test_text_longer_than_its_column_is_422_naming_field_and_limit(app_ctx):
    from app.core.domain import ValidationFailed
    from app.core.extensions import db
    from app.masterdata.models import Nuclide

    db.session.add(Nuclide(symbol="X" * 500, name="n", half_life_s=1, half_life_source="t"))
    with pytest.raises(ValidationFailed) as err:
        db.session.flush()
    assert "symbol" in err.value.user_message and "characters" in err.value.user_message
    db.session.rollback()


def test_rison_number_prison_cannot_read_is_400_not_500(api, app_ctx):
    """Found by the fuzz test: prison raises ValueError on '2.39e+101', which FAB does not catch."""
    r = api("admin").get("/api/v1/sites/1?q=2.3947295417627547e%2B101")
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.get_json()["code"] == "BAD_REQUEST" and r.get_json()["traceId"]


def test_a_number_where_text_is_expected_is_422(api, app_ctx):
    from tests.batch_factories import new_batch

    batch = new_batch()
    r = api("planner").post(
        f"/api/v1/batches/{batch.id}/transition", json={"to_status": "SCHEDULED", "note": 7}
    )
    assert r.status_code == 422 and r.get_json()["code"] == "VALIDATION_ERROR"

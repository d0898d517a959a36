"""Input rules through the API (issue 14 section 2): master data codes and reasons, QC numbers a
measurement cannot be, too-long text refused (never cut), and an OpenAPI document that describes
every operation's path parameters and request body."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.qc_factories import make_batch, results_by_code


def _site_id(db_session) -> int:
    from app.masterdata.models import Site

    return db_session.execute(select(Site.id).where(Site.code == "RUH")).scalar_one()


@pytest.mark.parametrize("code", ["", "   ", "AB\x01C", "A\tB", "-LEAD", "has\nbreak"])
def test_master_data_codes_follow_the_pattern(api, db_session, code):
    r = api("admin").post(
        "/api/v1/hot-cells/",
        json={"site_id": _site_id(db_session), "code": code, "name": "Cell", "reason": "new cell"},
    )
    assert r.status_code == 422, (code, r.get_json())
    assert "code" in str(r.get_json()), r.get_json()


def test_control_characters_are_refused_in_any_master_data_text(api, db_session):
    r = api("admin").put(
        f"/api/v1/sites/{_site_id(db_session)}", json={"name": "Riyadh\x07 site", "reason": "rename"}
    )
    assert r.status_code == 422 and "name" in r.get_json()["details"]["fields"], r.get_json()


@pytest.mark.parametrize("entity", ["sites", "hot-cells", "suppliers"])
def test_site_hot_cell_and_supplier_changes_need_a_reason(api, db_session, entity):
    from app.masterdata.models import HotCell, Site, Supplier

    model = {"sites": Site, "hot-cells": HotCell, "suppliers": Supplier}[entity]
    pk = db_session.execute(select(func.min(model.id))).scalar_one()
    admin = api("admin")
    r = admin.put(f"/api/v1/{entity}/{pk}", json={"active" if entity != "suppliers" else "approved": True})
    assert r.status_code == 422 and r.get_json()["code"] == "REASON_REQUIRED", r.get_json()
    field = {"sites": "address", "hot-cells": "module_type", "suppliers": "contact_email"}[entity]
    value = "qa@supplier.example" if entity == "suppliers" else "Changed for the test"
    r = admin.put(f"/api/v1/{entity}/{pk}", json={field: value, "reason": "Contact changed"})
    assert r.status_code == 200, r.get_json()


def test_site_edit_page_asks_for_a_reason(client, db_session):
    from tests.conftest import login_page

    login_page(client, "admin")
    sid = _site_id(db_session)
    page = client.get(f"/sites/edit/{sid}").get_data(as_text=True)
    assert "reason_for_change" in page
    r = client.post(
        f"/sites/edit/{sid}", data={"code": "RUH", "name": "Riyadh", "timezone": "Asia/Riyadh", "active": "y"}
    )
    assert r.status_code == 200 and "reason" in r.get_data(as_text=True).lower()  # the form again


@pytest.mark.parametrize("value", ["1e-400", 1e-400, "99999999999", 99999999999, "-1e300", "1e400"])
def test_qc_numbers_beyond_a_measurement_are_422_with_the_range(api, app_ctx, value):
    batch = make_batch()
    row = results_by_code(batch.id)["PH"]
    if isinstance(value, float) and value == 0.0:  # 1e-400 as a JSON number: send the literal
        r = api("qc").put(
            f"/api/v1/batches/{batch.id}/qc-results/{row.id}",
            data='{"numeric_value": 1e-400}',
            content_type="application/json",
        )
    else:
        r = api("qc").put(f"/api/v1/batches/{batch.id}/qc-results/{row.id}", json={"numeric_value": value})
    body = r.get_json()
    assert r.status_code == 422, body
    assert re.search(r"999,999,999|1e\+300", body["userMessage"]), body
    assert results_by_code(batch.id)["PH"].numeric_value is None


def test_too_long_text_through_the_api_is_refused_naming_field_and_limit(api, app_ctx):
    batch = make_batch()
    analyst = api("qc")
    long_note = "x" * 2001
    r = analyst.post(
        f"/api/v1/batches/{batch.id}/qc-samples", json={"sample_type": "STERILITY", "note": long_note}
    )
    assert r.status_code == 422, r.get_json()
    assert "note" in r.get_json()["details"]["fields"] and "2000" in r.get_json()["userMessage"]

    batch = make_batch()
    row = results_by_code(batch.id)["PH"]
    url = f"/api/v1/batches/{batch.id}/qc-results/{row.id}"
    assert analyst.put(url, json={"numeric_value": 4.4}).status_code == 200
    r = analyst.put(url, json={"numeric_value": 6.0, "reason": "r" * 2001})
    assert r.status_code == 422 and "reason" in r.get_json()["details"]["fields"], r.get_json()
    r = analyst.put(url, json={"numeric_value": 6.0, "reason": {"a": 1}})
    assert r.status_code == 422, r.get_json()
    assert str(results_by_code(batch.id)["PH"].numeric_value) == "4.400000"  # nothing saved


def test_openapi_describes_every_path_parameter_and_request_body(api):
    r = api("admin").get("/api/v1/_openapi")
    assert r.status_code == 200
    spec = r.get_json()
    problems = []
    for path, ops in spec["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
            if names - declared:
                problems.append(f"{method.upper()} {path}: path parameters {sorted(names - declared)}")
            if method in ("post", "put", "patch") and "requestBody" not in op and "refresh" not in path:
                problems.append(f"{method.upper()} {path}: no request body")
    assert not problems, "\n".join(problems)
    assert len(spec["paths"]) > 60

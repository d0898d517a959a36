"""Master data REST API: CRUD, validation errors as JSON, reasons for GMP changes, permissions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditLog
from app.masterdata.models import Customer, Nuclide, Product, Site
from tests.conftest import DEMO_PASSWORD

RESOURCES = (
    "products",
    "nuclides",
    "customers",
    "sites",
    "hot-cells",
    "suppliers",
    "materials",
    "material-lots",
)
ARABIC = "حقن فلوديوكسي غلوكوز [18F]"


def _id(db_session, model, **key) -> int:
    return db_session.execute(select(model.id).filter_by(**key)).scalar_one()


def _audit_count(db_session, entity: str = "Product") -> int:
    return db_session.execute(
        select(func.count()).select_from(AuditLog).where(AuditLog.entity_type == entity)
    ).scalar_one()


def _last_audit(db_session, entity: str, entity_id) -> AuditLog:
    return db_session.execute(
        select(AuditLog)
        .where(AuditLog.entity_type == entity, AuditLog.entity_id == str(entity_id))
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).scalar_one()


def _new_product(db_session, code="TESTPET", **extra) -> dict:
    return {
        "code": code,
        "name_en": "[18F]Test tracer injection",
        "nuclide": _id(db_session, Nuclide, symbol="F-18"),
        "dose_form": "MULTIDOSE_VIAL",
        "shelf_life_min": 480,
        "max_volume_ml": 12.5,
        **extra,
    }


@pytest.mark.parametrize("resource", RESOURCES)
def test_every_resource_lists_and_shows_seeded_records(api, resource):
    client = api("planner")
    listing = client.get(f"/api/v1/{resource}/")
    assert listing.status_code == 200, listing.get_json()
    body = listing.get_json()
    assert body["count"] >= 1
    shown = client.get(f"/api/v1/{resource}/{body['ids'][0]}")
    assert shown.status_code == 200
    assert shown.get_json()["result"]


def test_fields_are_snake_case(api):
    result = api("planner").get("/api/v1/products/?q=(filters:!((col:code,opr:eq,value:FDG)))").get_json()
    assert result["count"] == 1
    fdg = result["result"][0]
    assert {"code", "name_en", "name_ar", "shelf_life_min", "max_volume_ml", "dose_form"} <= fdg.keys()
    assert fdg["nuclide"]["symbol"] == "F-18"


def test_create_product_is_audited(api, db_session):
    r = api("admin").post("/api/v1/products/", json=_new_product(db_session))
    assert r.status_code == 201, r.get_json()
    pid = r.get_json()["id"]
    row = _last_audit(db_session, "Product", pid)
    assert row.action == "CREATE" and row.after["code"] == "TESTPET" and row.actor_name == "Amal Haddad"


def test_duplicate_product_code_is_422_with_field_details_not_500(api, db_session):
    r = api("admin").post("/api/v1/products/", json=_new_product(db_session, code="FDG"))
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["userMessage"] and body["traceId"]
    assert body["details"]["fields"]["code"] == ["Another product already uses FDG."]


def test_invalid_values_are_422_per_field(api, db_session):
    r = api("admin").post(
        "/api/v1/products/", json=_new_product(db_session, code="bad code", shelf_life_min=0)
    )
    assert r.status_code == 422
    fields = r.get_json()["details"]["fields"]
    assert set(fields) == {"code", "shelf_life_min"}


@pytest.mark.parametrize("material", [1.6469309828330056e16, 2**31, -(2**40)])
def test_a_related_id_beyond_the_databases_integers_is_422_not_500(api, db_session, material):
    """Found by the API fuzz test: the related record was looked up with an id PostgreSQL cannot hold."""
    before = db_session.execute(text("SELECT count(*) FROM material_lot")).scalar()
    for method, url in (("post", "/api/v1/material-lots/"), ("put", "/api/v1/material-lots/1")):
        r = getattr(api("admin"), method)(url, json={"material": material, "reason": "Fuzz"})
        assert r.status_code in (404, 422), (method, r.status_code, r.get_json())
        if r.status_code == 422:
            assert r.get_json()["code"] == "VALIDATION_ERROR"
    assert db_session.execute(text("SELECT count(*) FROM material_lot")).scalar() == before


def test_missing_required_fields_are_422(api):
    r = api("admin").post("/api/v1/products/", json={"code": "ONLYCODE"})
    assert r.status_code == 422
    assert {"name_en", "nuclide", "shelf_life_min"} <= set(r.get_json()["details"]["fields"])


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]"])
def test_malformed_body_is_400_json(api, payload):
    r = api("admin").post("/api/v1/products/", data=payload, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.get_json()["code"] == "BAD_REQUEST"


def test_arabic_name_round_trips_unchanged(api, db_session):
    client = api("admin")
    pid = client.post("/api/v1/products/", json=_new_product(db_session, name_ar=ARABIC)).get_json()["id"]
    assert client.get(f"/api/v1/products/{pid}").get_json()["result"]["name_ar"] == ARABIC
    assert db_session.get(Product, pid).name_ar == ARABIC


def test_put_product_without_reason_is_refused_and_writes_nothing(api, db_session):
    pid = _id(db_session, Product, code="FDG")
    before = _audit_count(db_session)
    r = api("admin").put(f"/api/v1/products/{pid}", json={"shelf_life_min": 540})
    assert r.status_code == 422
    assert r.get_json()["code"] == "REASON_REQUIRED"
    assert r.get_json()["details"]["fields"]["reason"]
    db_session.expire_all()
    assert db_session.get(Product, pid).shelf_life_min == 600
    assert _audit_count(db_session) == before


def test_blank_reason_counts_as_missing(api, db_session):
    pid = _id(db_session, Product, code="FDG")
    r = api("admin").put(f"/api/v1/products/{pid}", json={"shelf_life_min": 540, "reason": "   "})
    assert r.status_code == 422 and r.get_json()["code"] == "REASON_REQUIRED"


def test_put_product_with_reason_audits_before_after_in_the_same_transaction(api, db_session):
    pid = _id(db_session, Product, code="FDG")
    r = api("admin").put(
        f"/api/v1/products/{pid}",
        json={
            "shelf_life_min": 540,
            "reason": "Stability study SS-2026-04 approved",
            "password": DEMO_PASSWORD,
        },
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["result"]["shelf_life_min"] == 540
    row = _last_audit(db_session, "Product", pid)
    assert row.action == "UPDATE"
    assert row.reason == "Stability study SS-2026-04 approved"
    assert row.before["shelf_life_min"] == 600 and row.after["shelf_life_min"] == 540
    assert row.signature_id is not None  # shelf life is GMP-critical: the change is e-signed
    # Same (sub)transaction id on the new product row version and on the audit row.
    product_xmin = db_session.execute(
        text("SELECT xmin::text FROM product WHERE id = :id"), {"id": pid}
    ).scalar()
    audit_xmin = db_session.execute(
        text("SELECT xmin::text FROM audit_log WHERE id = :id"), {"id": row.id}
    ).scalar()
    assert product_xmin == audit_xmin


def test_change_is_rolled_back_when_the_audit_row_cannot_be_written(api, db_session, monkeypatch):
    from app.audit import service as audit

    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", broken)
    pid = _id(db_session, Product, code="FDG")
    r = api("admin").put(
        f"/api/v1/products/{pid}", json={"shelf_life_min": 500, "reason": "test", "password": DEMO_PASSWORD}
    )
    assert r.status_code == 500
    assert r.get_json()["code"] == "INTERNAL_ERROR"
    db_session.expire_all()
    assert db_session.get(Product, pid).shelf_life_min == 600


def test_critical_product_change_without_password_is_refused_and_writes_nothing(api, db_session):
    pid = _id(db_session, Product, code="FDG")
    r = api("admin").put(f"/api/v1/products/{pid}", json={"shelf_life_min": 480, "reason": "Shorter expiry"})
    assert r.status_code == 409 and r.get_json()["code"] == "SIGNATURE_REQUIRED"
    assert "password" in r.get_json()["details"]["fields"]
    db_session.expire_all()
    assert db_session.get(Product, pid).shelf_life_min == 600
    r = api("admin").put(
        f"/api/v1/products/{pid}",
        json={"shelf_life_min": 480, "reason": "Shorter expiry", "password": "not-my-password"},
    )
    assert r.status_code == 403 and r.get_json()["code"] == "SIGNATURE_INVALID"


def test_customer_licence_change_needs_reason_and_audits_permitted_products(api, db_session):
    client = api("admin")
    cid = _id(db_session, Customer, code="KAMC")
    psma = _id(db_session, Product, code="PSMA11")
    fdg = _id(db_session, Product, code="FDG")
    refused = client.put(f"/api/v1/customers/{cid}", json={"licence_expiry": "2028-01-31"})
    assert refused.status_code == 422 and refused.get_json()["code"] == "REASON_REQUIRED"
    r = client.put(
        f"/api/v1/customers/{cid}",
        json={"licence_expiry": "2028-01-31", "permitted_products": [fdg, psma], "reason": "Licence renewed"},
    )
    assert r.status_code == 200, r.get_json()
    row = _last_audit(db_session, "Customer", cid)
    assert row.after["licence_expiry"] == "2028-01-31"
    assert row.before["permitted_products"] == ["FDG", "NAF"]
    assert row.after["permitted_products"] == ["FDG", "PSMA11"]


def test_nuclide_half_life_change_needs_reason(api, db_session):
    nid = _id(db_session, Nuclide, symbol="N-13")
    r = api("admin").put(f"/api/v1/nuclides/{nid}", json={"half_life_s": 598})
    assert r.status_code == 422 and r.get_json()["code"] == "REASON_REQUIRED"


def test_site_update_needs_a_reason_and_is_audited(api, db_session):
    sid = _id(db_session, Site, code="RUH")
    r = api("admin").put(f"/api/v1/sites/{sid}", json={"address": "Second Industrial City, Riyadh"})
    assert r.status_code == 422 and r.get_json()["code"] == "REASON_REQUIRED"  # issue 14
    r = api("admin").put(
        f"/api/v1/sites/{sid}", json={"address": "Second Industrial City, Riyadh", "reason": "Moved"}
    )
    assert r.status_code == 200, r.get_json()
    row = _last_audit(db_session, "Site", sid)
    assert row.action == "UPDATE" and row.after["address"] == "Second Industrial City, Riyadh"


def test_products_are_retired_not_deleted(api, db_session):
    pid = _id(db_session, Product, code="NH3")
    r = api("admin").delete(f"/api/v1/products/{pid}")
    assert r.status_code == 409
    assert r.get_json()["code"] == "DEACTIVATE_INSTEAD"
    assert db_session.get(Product, pid) is not None


def test_deleting_a_site_with_hot_cells_is_refused_clearly(api, db_session):
    sid = _id(db_session, Site, code="RUH")
    r = api("admin").delete(f"/api/v1/sites/{sid}")
    assert r.status_code == 409
    assert r.get_json()["code"] == "IN_USE"
    assert "3 hot cell records" in r.get_json()["userMessage"]


def test_unused_supplier_can_be_deleted_and_the_deletion_is_audited(api, db_session):
    client = api("admin")
    sid = client.post("/api/v1/suppliers/", json={"name": "Short-lived Supplies Ltd"}).get_json()["id"]
    r = client.delete(f"/api/v1/suppliers/{sid}?reason=Created by mistake")
    assert r.status_code == 200
    row = _last_audit(db_session, "Supplier", sid)
    assert row.action == "DELETE" and row.before["name"] == "Short-lived Supplies Ltd"
    assert row.reason == "Created by mistake"


def test_customer_role_cannot_write_master_data(api, db_session):
    client = api("hospital")
    pid = _id(db_session, Product, code="FDG")
    for method, url, body in [
        ("post", "/api/v1/products/", _new_product(db_session)),
        ("put", f"/api/v1/products/{pid}", {"shelf_life_min": 1, "reason": "x"}),
        ("delete", f"/api/v1/products/{pid}", None),
        ("post", "/api/v1/customers/", {"code": "X"}),
    ]:
        r = getattr(client, method)(url, json=body) if body else getattr(client, method)(url)
        assert r.status_code == 403, (method, url)
        assert r.get_json()["code"] == "FORBIDDEN"
    assert client.get("/api/v1/products/").status_code == 200  # products are readable for ordering
    assert client.get("/api/v1/customers/").status_code == 403


def test_planner_reads_but_cannot_write(api, db_session):
    client = api("planner")
    assert client.get("/api/v1/customers/").status_code == 200
    assert client.post("/api/v1/sites/", json={"code": "X", "name": "X"}).status_code == 403


def test_production_may_receive_material_lots(api, db_session):
    from app.masterdata.models import Material, Supplier

    r = api("prod").post(
        "/api/v1/material-lots/",
        json={
            "material": _id(db_session, Material, code="MANTRI"),
            "supplier": _id(db_session, Supplier, name="ABX advanced biochemical compounds"),
            "supplier_lot_no": "ABX-MT-2612-01",
            "expiry_date": "2027-12-31",
            "status": "QUARANTINE",
            "quantity": 10,
        },
    )
    assert r.status_code == 201, r.get_json()


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/v1/products/").status_code == 401
    assert client.post("/api/v1/products/", json={}).status_code == 401


def test_openapi_documents_every_resource_and_the_reason_field(api):
    spec = api("admin").get("/api/v1/_openapi").get_json()
    for resource in RESOURCES:
        assert f"/api/v1/{resource}/" in spec["paths"]
    reason = spec["components"]["schemas"]["ProductApi.put"]["properties"]["reason"]
    assert "required" in reason["description"]


def test_lists_are_ordered_by_code(api):
    codes = [p["code"] for p in api("planner").get("/api/v1/products/").get_json()["result"]]
    assert codes == sorted(codes)


@pytest.mark.parametrize(
    "q",
    [
        "(page:2000000000,page_size:20)",
        "(filters:!((col:half_life_s,opr:eq,value:1e20)))",
        "(filters:!((col:id,opr:eq,value:99999999999999999999)))",
    ],
)
def test_a_page_or_filter_beyond_the_databases_integers_is_400_not_500(api, q):
    """Found by the API fuzz test: an offset or a filter value PostgreSQL cannot hold."""
    r = api("admin").get("/api/v1/nuclides/", query_string={"q": q})
    assert r.status_code in (400, 422), r.get_json()
    assert r.get_json()["code"] in ("BAD_REQUEST", "VALIDATION_ERROR") and r.get_json()["traceId"]

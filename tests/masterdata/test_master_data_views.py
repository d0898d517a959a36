"""Master data pages: lists with search, forms that ask a reason for GMP changes, role limits."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.masterdata import view_support as fmt
from app.masterdata.models import Customer, Product, Site
from tests.conftest import DEMO_PASSWORD, login_page

LISTS = (
    "/products/list/",
    "/nuclides/list/",
    "/customers/list/",
    "/sites/list/",
    "/hot-cells/list/",
    "/suppliers/list/",
    "/materials/list/",
    "/material-lots/list/",
    "/customer-users/list/",
)


def _product(db_session, code: str) -> Product:
    return db_session.execute(select(Product).filter_by(code=code)).scalar_one()


def _audit_rows(db_session, entity: str, entity_id) -> list[AuditLog]:
    return list(
        db_session.execute(
            select(AuditLog)
            .where(AuditLog.entity_type == entity, AuditLog.entity_id == str(entity_id))
            .order_by(AuditLog.id)
        ).scalars()
    )


def _product_form(product: Product, **changes) -> dict:
    data = {
        "code": product.code,
        "name_en": product.name_en,
        "name_ar": product.name_ar or "",
        "nuclide": str(product.nuclide_id),
        "dose_form": product.dose_form,
        "shelf_life_min": str(product.shelf_life_min),
        "max_volume_ml": str(product.max_volume_ml or ""),
        "qc_review_required": "y" if product.qc_review_required else "",
        "active": "y" if product.active else "",
        "reason_for_change": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


@pytest.mark.parametrize("url", LISTS)
def test_admin_opens_every_master_data_list(client, db_session, url):
    login_page(client, "admin")
    r = client.get(url)
    assert r.status_code == 200


def test_products_list_shows_seeded_products_with_arabic_right_to_left(client, db_session):
    login_page(client, "planner")
    html = client.get("/products/list/").get_data(as_text=True)
    for code in ("FDG", "PSMA11", "NAF", "NH3"):
        assert code in html
    assert 'dir="rtl" lang="ar"' in html and "حقن فلوديوكسي غلوكوز" in html
    assert '<bdi dir="ltr">[18F]</bdi>' in html  # brackets stay the right way round inside RTL text
    assert "600 min (10 h)" in html


def test_nuclide_list_shows_half_life_in_minutes_and_seconds(client, db_session):
    login_page(client, "planner")
    html = client.get("/nuclides/list/").get_data(as_text=True)
    assert "109.77 min" in html and "6586.2 s" in html
    assert "NNDC NuDat 3.0" in html


def test_list_search_filters_rows(client, db_session):
    login_page(client, "planner")
    html = client.get("/products/list/?_flt_3_code=NAF").get_data(as_text=True)  # filter 3 = "Equal to"
    assert "[18F]Sodium fluoride injection" in html
    assert "[18F]Fludeoxyglucose injection" not in html
    on_hold = client.get("/customers/list/?_flt_0_credit_hold=y").get_data(as_text=True)
    assert "Dr. Sulaiman Al Habib Hospital" in on_hold and "King Faisal Specialist Hospital" not in on_hold


def test_customer_list_flags_licences_expiring_and_expired(client, db_session):
    login_page(client, "planner")
    html = client.get("/customers/list/").get_data(as_text=True)
    assert "Expires in 21 days" in html  # King Abdulaziz Medical City
    assert 'label-danger">Expired' in html  # Prince Sultan Military Medical City
    assert "On credit hold" in html


def test_planner_sees_lists_without_add_or_edit(client, db_session):
    login_page(client, "planner")
    html = client.get("/products/list/").get_data(as_text=True)
    assert "/products/add" not in html and "/products/edit/" not in html
    assert client.get("/products/add").status_code == 403


def test_customer_role_gets_403_pages_and_no_master_data_write_links(client, db_session):
    login_page(client, "hospital")
    fdg = _product(db_session, "FDG")
    assert client.get("/products/add").status_code == 403
    assert client.get(f"/products/edit/{fdg.id}").status_code == 403
    assert (
        client.post(f"/products/edit/{fdg.id}", data=_product_form(fdg, reason_for_change="x")).status_code
        == 403
    )
    assert client.get("/customers/list/").status_code == 403
    assert client.get("/customer-users/list/").status_code == 403
    html = client.get("/products/list/").get_data(as_text=True)
    assert "/customers/list/" not in html and "/products/add" not in html


def test_edit_form_asks_for_a_reason_on_gmp_records(client, db_session):
    login_page(client, "admin")
    fdg = _product(db_session, "FDG")
    assert "Reason for change" in client.get(f"/products/edit/{fdg.id}").get_data(as_text=True)
    site = db_session.execute(select(Site)).scalars().first()  # sites too since issue 14
    assert "Reason for change" in client.get(f"/sites/edit/{site.id}").get_data(as_text=True)


def test_product_edit_without_reason_is_refused_and_writes_nothing(client, db_session):
    login_page(client, "admin")
    fdg = _product(db_session, "FDG")
    product_rows = select(func.count()).select_from(AuditLog).where(AuditLog.entity_type == "Product")
    before = db_session.execute(product_rows).scalar_one()
    r = client.post(f"/products/edit/{fdg.id}", data=_product_form(fdg, shelf_life_min="540"))
    assert r.status_code == 200  # the form comes back with the message next to the field
    assert "Give a reason for the change" in r.get_data(as_text=True)
    db_session.expire_all()
    assert _product(db_session, "FDG").shelf_life_min == 600
    assert db_session.execute(product_rows).scalar_one() == before


def test_product_edit_with_reason_saves_and_audits_before_after(client, db_session):
    login_page(client, "admin")
    fdg = _product(db_session, "FDG")
    r = client.post(
        f"/products/edit/{fdg.id}",
        data=_product_form(
            fdg,
            shelf_life_min="540",
            reason_for_change="Stability study SS-2026-04",
            signature_password=DEMO_PASSWORD,
        ),
    )
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/products/show/{fdg.id}")  # back to the product, not home
    db_session.expire_all()
    assert _product(db_session, "FDG").shelf_life_min == 540
    row = _audit_rows(db_session, "Product", fdg.id)[-1]
    assert row.action == "UPDATE" and row.reason == "Stability study SS-2026-04"
    assert (row.before["shelf_life_min"], row.after["shelf_life_min"]) == (600, 540)


def test_unticking_active_retires_a_product(client, db_session):
    login_page(client, "admin")
    nh3 = _product(db_session, "NH3")
    r = client.post(
        f"/products/edit/{nh3.id}", data=_product_form(nh3, active="", reason_for_change="Line closed")
    )
    assert r.status_code == 302
    db_session.expire_all()
    assert _product(db_session, "NH3").active is False


def test_duplicate_code_on_add_shows_a_message_not_an_error_page(client, db_session):
    login_page(client, "admin")
    fdg = _product(db_session, "FDG")
    data = _product_form(fdg, name_en="Copy of FDG")
    data.pop("reason_for_change", None)
    r = client.post("/products/add", data=data)
    assert r.status_code == 200
    assert "Already exists" in r.get_data(as_text=True) or "already uses FDG" in r.get_data(as_text=True)
    assert (
        db_session.execute(select(func.count()).select_from(Product).filter_by(code="FDG")).scalar_one() == 1
    )


def test_add_customer_with_arabic_name_is_audited(client, db_session):
    login_page(client, "admin")
    fdg = _product(db_session, "FDG")
    r = client.post(
        "/customers/add",
        data={
            "code": "NGHA",
            "name": "National Guard Hospital",
            "name_ar": "مستشفى الحرس الوطني",
            "licence_number": "SFDA-RML-2001",
            "licence_expiry": "2027-06-30",
            "permitted_products": [str(fdg.id)],
            "contact_email": "nm@ngha.example",
            "timezone": "Asia/Riyadh",
            "active": "y",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    customer = db_session.execute(select(Customer).filter_by(code="NGHA")).scalar_one()
    assert customer.name_ar == "مستشفى الحرس الوطني"
    row = _audit_rows(db_session, "Customer", customer.id)[-1]
    assert row.action == "CREATE" and row.after["permitted_products"] == ["FDG"]


def test_deleting_a_site_in_use_shows_why(client, db_session):
    login_page(client, "admin")
    site = db_session.execute(select(Site)).scalars().first()
    r = client.post(f"/sites/delete/{site.id}", follow_redirects=True)
    assert r.status_code == 200
    assert "cannot be deleted: it is used by 3 hot cell records" in r.get_data(as_text=True)
    assert db_session.get(Site, site.id) is not None


def test_products_have_no_delete_page(client, db_session):
    login_page(client, "admin")
    fdg = _product(db_session, "FDG")
    assert client.post(f"/products/delete/{fdg.id}").status_code == 404
    assert f"/products/delete/{fdg.id}" not in client.get("/products/list/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        (dt.date(2026, 11, 1), "Expired"),
        (dt.date(2026, 11, 22), "Expires today"),
        (dt.date(2026, 11, 23), "Expires in 1 day"),
        (dt.date(2026, 12, 22), "Expires in 30 days"),
    ],
)
def test_licence_expiry_formatter_highlights_expired_and_soon(expiry, expected):
    html = str(fmt.fmt_licence_expiry(expiry, today=dt.date(2026, 11, 22)))
    assert expected in html


def test_licence_expiry_formatter_leaves_valid_licences_plain():
    html = str(fmt.fmt_licence_expiry(dt.date(2027, 1, 1), today=dt.date(2026, 11, 22)))
    assert "label" not in html and "01 Jan 2027" in html


def test_show_page_links_to_edit_and_change_history_by_permission(client, db_session):
    fdg = _product(db_session, "FDG")
    login_page(client, "admin")
    html = client.get(f"/products/show/{fdg.id}").get_data(as_text=True)
    assert f"/products/edit/{fdg.id}" in html
    assert "/audit/?entity_type=Product" in html and "Change history" in html
    client.get("/logout/")
    login_page(client, "planner")
    html = client.get(f"/products/show/{fdg.id}").get_data(as_text=True)
    assert f"/products/edit/{fdg.id}" not in html and "Change history" not in html


def test_add_form_starts_active(client, db_session):
    login_page(client, "admin")
    html = client.get("/products/add").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*id="active"[^>]*>', html).group(0)
    assert "checked" in checkbox


def test_only_customer_role_logins_can_be_linked_to_a_hospital(client, db_session):
    from flask import current_app

    login_page(client, "admin")
    sm = current_app.appbuilder.sm
    kfsh = db_session.execute(select(Customer).filter_by(code="KFSH")).scalar_one()
    r = client.post(
        "/customer-users/add",
        data={"user": str(sm.find_user(username="planner").id), "customer": str(kfsh.id)},
    )
    assert r.status_code == 200
    assert "Only logins with the Customer role" in r.get_data(as_text=True)

"""Master data service, seeds and permissions on the real database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.core.domain import DomainError
from app.masterdata import service
from app.masterdata.models import (
    Customer,
    CustomerUser,
    HotCell,
    Material,
    MaterialLot,
    Nuclide,
    Product,
    Site,
    Supplier,
)
from app.security.roles import MASTER_DATA


def _one(db_session, model, **key):
    return db_session.execute(select(model).filter_by(**key)).scalar_one()


def _audit_count(db_session) -> int:
    return db_session.execute(select(func.count()).select_from(AuditLog)).scalar_one()


# ------------------------------------------------------------------ seeds


@pytest.mark.parametrize(
    ("symbol", "seconds", "source"),
    [
        ("F-18", "6586.2", "NNDC NuDat 3.0"),
        ("C-11", "1223.1", "DDEP"),
        ("N-13", "597.9", "NNDC NuDat 3.0"),
        ("Ga-68", "4062.6", "NNDC NuDat 3.0"),
        ("Tc-99m", "21624.12", "NNDC NuDat 3.0"),
        ("Lu-177", "574300.8", "NNDC NuDat 3.0"),
    ],
)
def test_nuclides_are_seeded_with_sourced_half_lives(app_ctx, db_session, symbol, seconds, source):
    nuclide = _one(db_session, Nuclide, symbol=symbol)
    assert nuclide.half_life_s == Decimal(seconds)
    assert source in nuclide.half_life_source


def test_seed_data_covers_the_demo(app_ctx, db_session):
    fdg = _one(db_session, Product, code="FDG")
    assert (fdg.nuclide.symbol, fdg.shelf_life_min, fdg.name_ar) == (
        "F-18",
        600,
        "حقن فلوديوكسي غلوكوز [18F]",
    )
    assert {p.code for p in db_session.execute(select(Product)).scalars()} >= {"FDG", "PSMA11", "NAF", "NH3"}
    assert _one(db_session, Site, code="RUH").name == "Riyadh Cyclotron Facility"
    modules = {c.module_type for c in db_session.execute(select(HotCell)).scalars()}
    assert {"GE FASTlab 2", "Trasis AllInOne"} <= modules
    customers = db_session.execute(select(Customer)).scalars().all()
    assert len(customers) >= 4 and all(c.name_ar for c in customers)
    assert any(c.credit_hold for c in customers)
    assert db_session.execute(select(func.count()).select_from(Supplier)).scalar_one() >= 4
    assert db_session.execute(select(func.count()).select_from(Material)).scalar_one() >= 4
    assert db_session.execute(select(func.count()).select_from(MaterialLot)).scalar_one() >= 4


def test_demo_hospital_login_is_tied_to_one_customer(app_ctx, db_session):
    from flask import current_app

    user = current_app.appbuilder.sm.find_user(username="hospital")
    link = _one(db_session, CustomerUser, user_id=user.id)
    assert link.customer.code == "KFSH"
    assert service.customer_for_user(user.id).code == "KFSH"
    assert service.customer_for_user(None) is None


def test_seeding_again_adds_nothing(app_ctx, db_session):
    from seeds import master_data

    before = _audit_count(db_session)
    assert master_data.seed() == {}
    assert _audit_count(db_session) == before


# ------------------------------------------------------------------ permissions


def _perms(role) -> set[tuple[str, str]]:
    return {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}


def test_views_and_apis_use_read_write_permissions_on_the_resource(app):
    by_resource: dict[str, set[str]] = {}
    for view in app.appbuilder.baseviews:
        if view.class_permission_name in (*MASTER_DATA, "CustomerUser"):
            by_resource.setdefault(view.class_permission_name, set()).update(view.base_permissions)
    assert set(by_resource) == {*MASTER_DATA, "CustomerUser"}
    for resource, perms in by_resource.items():
        assert perms == {"can_read", "can_write"}, resource


def test_sync_roles_gives_planner_read_only_and_admin_everything(app_ctx, db_session):
    from flask import current_app

    sm = current_app.appbuilder.sm
    planner, admin, customer = sm.find_role("Planner"), sm.find_role("Admin"), sm.find_role("Customer")
    for resource in MASTER_DATA:
        assert ("can_read", resource) in _perms(planner)
        assert ("can_write", resource) not in _perms(planner)
        assert {("can_read", resource), ("can_write", resource)} <= _perms(admin)
    assert ("can_write", "MaterialLot") in _perms(sm.find_role("Production"))
    assert {p for p in _perms(customer) if p[1] in MASTER_DATA} == {("can_read", "Product")}
    assert not any(p[1] == "CustomerUser" for p in _perms(planner) | _perms(customer))
    assert ("menu_access", "Master data") in _perms(planner)


# ------------------------------------------------------------------ service rules


def test_update_without_reason_raises_and_rolls_back(app_ctx, db_session):
    fdg = _one(db_session, Product, code="FDG")
    change = service.Change(before=service.snapshot(fdg))
    fdg.shelf_life_min = 1
    count = _audit_count(db_session)
    with pytest.raises(DomainError) as err:
        service.update(fdg, change)
    assert err.value.code == "REASON_REQUIRED" and err.value.status == 422
    db_session.expire_all()
    assert _one(db_session, Product, code="FDG").shelf_life_min == 600
    assert _audit_count(db_session) == count


def test_update_that_changes_nothing_writes_no_audit_row(app_ctx, db_session):
    fdg = _one(db_session, Product, code="FDG")
    count = _audit_count(db_session)
    service.update(fdg, service.Change(before=service.snapshot(fdg), reason="no-op"))
    assert _audit_count(db_session) == count


def test_unique_key_spanning_columns_is_reported_on_the_last_field(app_ctx, db_session):
    site = _one(db_session, Site, code="RUH")
    with pytest.raises(DomainError) as err:
        service.create(HotCell(site_id=site.id, code="HC-1", name="Duplicate"))
    assert "code" in err.value.details["fields"]


def test_references_name_what_uses_a_record(app_ctx, db_session):
    mantri = _one(db_session, Material, code="MANTRI")
    assert service.references(mantri) == [("material_lot", 1)]
    with pytest.raises(DomainError) as err:
        service.delete(mantri)
    assert err.value.code == "IN_USE" and "1 material lot record" in err.value.user_message


def _customer(db_session, code: str) -> Customer:
    return _one(db_session, Customer, code=code)


def test_customer_may_receive_a_permitted_product_with_a_valid_licence(app_ctx, db_session):
    service.check_customer_may_receive(
        _customer(db_session, "KFSH"), _one(db_session, Product, code="FDG"), dt.date.today()
    )


@pytest.mark.parametrize(
    ("code", "product", "days_ahead", "error"),
    [
        ("KAMC", "PSMA11", 0, "PRODUCT_NOT_PERMITTED"),
        ("KAMC", "FDG", 60, "LICENCE_EXPIRED"),  # licence runs out in 21 days
        ("PSMMC", "FDG", 0, "LICENCE_EXPIRED"),
        ("DSFH", "FDG", 0, "CREDIT_HOLD"),
    ],
)
def test_customer_refusals_name_the_rule(app_ctx, db_session, code, product, days_ahead, error):
    with pytest.raises(DomainError) as err:
        service.check_customer_may_receive(
            _customer(db_session, code),
            _one(db_session, Product, code=product),
            dt.date.today() + dt.timedelta(days=days_ahead),
        )
    assert err.value.code == error

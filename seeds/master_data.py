"""Master data seed: nuclides with sourced half-lives, products, the site and hot cells, hospitals,
suppliers, materials and lots; links the demo `hospital` login to its hospital.

Idempotent: records are looked up by their natural key and only missing ones are added (an
existing record is never overwritten, so edits made in the demo survive a re-seed). Every row added
writes a CREATE audit row in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.core.actor import SYSTEM
from app.core.extensions import db
from app.core.web import site_today
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

NUDAT = "NNDC NuDat 3.0 (ENSDF evaluated data), Brookhaven National Laboratory"
DDEP = "DDEP recommended data (LNHB / BIPM-5 Table of Radionuclides)"

# symbol, name, half-life in seconds, source (value as published, then the conversion)
NUCLIDES = (
    ("F-18", "Fluorine-18", Decimal("6586.200"), f"{NUDAT}: 109.77 min = 6586.2 s"),
    ("C-11", "Carbon-11", Decimal("1223.100"), f"{DDEP}: 20.385 min = 1223.1 s (NuDat 3.0 lists 20.364 min)"),
    ("N-13", "Nitrogen-13", Decimal("597.900"), f"{NUDAT}: 9.965 min = 597.9 s"),
    ("Ga-68", "Gallium-68", Decimal("4062.600"), f"{NUDAT}: 67.71 min = 4062.6 s"),
    ("Tc-99m", "Technetium-99m", Decimal("21624.120"), f"{NUDAT}: 6.0067 h = 21624.12 s"),
    ("Lu-177", "Lutetium-177", Decimal("574300.800"), f"{NUDAT}: 6.647 d = 574300.8 s"),
)

# fmt: off
# code, English name, Arabic name, nuclide, dose form, shelf life (min), max volume (mL)
PRODUCTS = (
    ("FDG", "[18F]Fludeoxyglucose injection", "حقن فلوديوكسي غلوكوز [18F]", "F-18", "MULTIDOSE_VIAL", 600, "15"),
    ("PSMA11", "[68Ga]Gallium PSMA-11 injection", "حقن غاليوم PSMA-11 [68Ga]", "Ga-68", "MULTIDOSE_VIAL", 240, "10"),
    ("NAF", "[18F]Sodium fluoride injection", "حقن فلوريد الصوديوم [18F]", "F-18", "MULTIDOSE_VIAL", 720, "15"),
    ("NH3", "[13N]Ammonia injection", "حقن الأمونيا [13N]", "N-13", "UNIDOSE_SYRINGE", 30, "10"),
)

SITE = ("RUH", "Riyadh Cyclotron Facility", "Asia/Riyadh", "King Fahd Road, Riyadh, Saudi Arabia")

# code, name, synthesis module
HOT_CELLS = (
    ("HC-1", "Hot cell 1 (FDG line)", "GE FASTlab 2"),
    ("HC-2", "Hot cell 2 (gallium line)", "Trasis AllInOne"),
    ("HC-3", "Hot cell 3 (NaF / ammonia)", "GE TRACERlab MX"),
)

# code, name, Arabic name, licence no., licence valid for (days from today), credit hold, e-mail, products
CUSTOMERS = (
    ("KFSH", "King Faisal Specialist Hospital", "مستشفى الملك فيصل التخصصي", "SFDA-RML-1042", 400, False,
     "nuclear.medicine@kfsh.example", ("FDG", "PSMA11", "NAF", "NH3")),
    ("KAMC", "King Abdulaziz Medical City", "مدينة الملك عبدالعزيز الطبية", "SFDA-RML-0877", 21, False,
     "pet.ct@kamc.example", ("FDG", "NAF")),
    ("DSFH", "Dr. Sulaiman Al Habib Hospital", "مستشفى الدكتور سليمان الحبيب", "SFDA-RML-1311", 250, True,
     "radiopharmacy@habib.example", ("FDG", "PSMA11")),
    ("KSUMC", "King Saud University Medical City", "المدينة الطبية بجامعة الملك سعود", "SFDA-RML-0954", 540, False,
     "nm.orders@ksumc.example", ("FDG", "PSMA11", "NAF")),
    ("PSMMC", "Prince Sultan Military Medical City", "مدينة الأمير سلطان الطبية العسكرية", "SFDA-RML-0712", -12,
     False, "nuclear.pharmacy@psmmc.example", ("FDG",)),
)
DEMO_HOSPITAL_USER = ("hospital", "KFSH")

SUPPLIERS = (
    ("ABX advanced biochemical compounds", "orders@abx.example"),
    ("Rotem Industries", "sales@rotem.example"),
    ("GE Healthcare", "pet.consumables@ge.example"),
    ("Trasis", "support@trasis.example"),
)

# code, name, kind, unit
MATERIALS = (
    ("MANTRI", "Mannose triflate precursor 25 mg", "PRECURSOR", "vial"),
    ("O18W", "Enriched [18O]water ≥ 98 %", "TARGET_MATERIAL", "mL"),
    ("FL-FDG", "FASTlab FDG cassette (citrate)", "CASSETTE", "unit"),
    ("AIO-GA", "AllInOne Ga-68 PSMA cassette", "CASSETTE", "unit"),
    ("PSMA11-KIT", "PSMA-11 precursor kit 20 µg", "KIT", "kit"),
)

# material, supplier, supplier lot, expiry (days from today), status, quantity
LOTS = (
    ("MANTRI", "ABX advanced biochemical compounds", "ABX-MT-2611-07", 300, "RELEASED", "20"),
    ("O18W", "Rotem Industries", "RT-18O-26-115", 700, "RELEASED", "50"),
    ("FL-FDG", "GE Healthcare", "GE-FL2-5541", 180, "RELEASED", "40"),
    ("FL-FDG", "GE Healthcare", "GE-FL2-5602", 240, "QUARANTINE", "40"),
    ("AIO-GA", "Trasis", "TR-AIO-GA-0931", 150, "RELEASED", "12"),
    ("PSMA11-KIT", "ABX advanced biochemical compounds", "ABX-PSMA-2609-02", -5, "EXPIRED", "4"),
)
# fmt: on

REASON = "Master data seed"


def _get(model: type, **key: Any) -> Any:
    return db.session.execute(select(model).filter_by(**key)).scalar_one_or_none()


def _add(item: Any, counts: dict[str, int], key: str) -> Any:
    db.session.add(item)
    db.session.flush()
    snapshot = audit.snapshot(item)
    if isinstance(item, Customer):
        snapshot["permitted_products"] = sorted(p.code for p in item.permitted_products)
    audit.record(type(item).__name__, item.id, "CREATE", after=snapshot, reason=REASON, actor=SYSTEM)
    counts[key] = counts.get(key, 0) + 1
    return item


def seed(today: dt.date | None = None) -> dict[str, int]:
    today = today or site_today()  # the site's day: licences and lots expire on local dates
    counts: dict[str, int] = {}

    nuclides = {}
    for symbol, name, half_life_s, source in NUCLIDES:
        nuclides[symbol] = _get(Nuclide, symbol=symbol) or _add(
            Nuclide(symbol=symbol, name=name, half_life_s=half_life_s, half_life_source=source),
            counts,
            "nuclides",
        )

    products = {}
    for code, name_en, name_ar, nuclide, dose_form, shelf_min, max_ml in PRODUCTS:
        products[code] = _get(Product, code=code) or _add(
            Product(
                code=code,
                name_en=name_en,
                name_ar=name_ar,
                nuclide=nuclides[nuclide],
                dose_form=dose_form,
                shelf_life_min=shelf_min,
                max_volume_ml=Decimal(max_ml),
            ),
            counts,
            "products",
        )

    code, name, tz, address = SITE
    site = _get(Site, code=code) or _add(
        Site(code=code, name=name, timezone=tz, address=address), counts, "sites"
    )
    for cell_code, cell_name, module in HOT_CELLS:
        if not _get(HotCell, site_id=site.id, code=cell_code):
            _add(HotCell(site=site, code=cell_code, name=cell_name, module_type=module), counts, "hot_cells")

    for code, name, name_ar, licence, valid_days, hold, email, permitted in CUSTOMERS:
        if not _get(Customer, code=code):
            customer = Customer(
                code=code,
                name=name,
                name_ar=name_ar,
                licence_number=licence,
                licence_expiry=today + dt.timedelta(days=valid_days),
                credit_hold=hold,
                contact_email=email,
                timezone="Asia/Riyadh",
            )
            customer.permitted_products = [products[p] for p in permitted]
            _add(customer, counts, "customers")

    suppliers = {}
    for name, email in SUPPLIERS:
        suppliers[name] = _get(Supplier, name=name) or _add(
            Supplier(name=name, contact_email=email), counts, "suppliers"
        )
    materials = {}
    for code, name, kind, unit in MATERIALS:
        materials[code] = _get(Material, code=code) or _add(
            Material(code=code, name=name, kind=kind, unit=unit), counts, "materials"
        )
    for material, supplier, lot_no, expiry_days, status, quantity in LOTS:
        key = {"material_id": materials[material].id, "supplier_id": suppliers[supplier].id}
        if not _get(MaterialLot, supplier_lot_no=lot_no, **key):
            lot = MaterialLot(
                **key,
                supplier_lot_no=lot_no,
                expiry_date=today + dt.timedelta(days=expiry_days),
                status=status,
                received_at=dt.datetime.combine(today - dt.timedelta(days=10), dt.time(7, 30), tzinfo=dt.UTC),
                quantity=Decimal(quantity),
            )
            _add(lot, counts, "material_lots")

    _link_demo_hospital_user(counts)
    db.session.commit()
    return {f"master_data.{k}": v for k, v in counts.items()}


def _link_demo_hospital_user(counts: dict[str, int]) -> None:
    from flask import current_app

    username, customer_code = DEMO_HOSPITAL_USER
    user = current_app.appbuilder.sm.find_user(username=username)
    customer = _get(Customer, code=customer_code)
    if user is None or customer is None or _get(CustomerUser, user_id=user.id):
        return
    _add(CustomerUser(user_id=user.id, customer_id=customer.id), counts, "customer_users")

"""Master data: nuclides, products, customers (hospitals), sites, hot cells, suppliers, materials, lots.

Configuration only; GMP-relevant edits (product, nuclide, customer licence) are audited with
before/after and a reason by `app.masterdata.service`.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import relationship

from app.masterdata.domain import DOSE_FORMS, LOT_STATUSES  # noqa: F401  (one source for the choices)

# Seeded reference data: kept when tests truncate business tables between committed tests.
SEEDED = {"seeded": True}

customer_product = Table(
    "customer_product",
    Model.metadata,
    Column("customer_id", Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", Integer, ForeignKey("product.id", ondelete="CASCADE"), primary_key=True),
    info=SEEDED,
)


class Nuclide(Model):
    __tablename__ = "nuclide"

    id = Column(Integer, primary_key=True)
    symbol = Column(String(16), unique=True, nullable=False)  # e.g. F-18
    name = Column(String(64), nullable=False)  # e.g. Fluorine-18
    half_life_s = Column(Numeric(14, 3), nullable=False)
    half_life_source = Column(String(300), nullable=False)
    active = Column(Boolean, nullable=False, server_default=text("true"))

    __table_args__ = (
        CheckConstraint("half_life_s > 0", name="ck_nuclide_half_life_positive"),
        {"info": SEEDED},
    )

    def __repr__(self) -> str:
        return self.symbol


class Product(Model):
    __tablename__ = "product"

    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)  # e.g. FDG; used in batch numbers
    name_en = Column(String(200), nullable=False)
    name_ar = Column(String(200), nullable=True)
    nuclide_id = Column(Integer, ForeignKey("nuclide.id"), nullable=False, index=True)
    dose_form = Column(String(32), nullable=False, server_default="MULTIDOSE_VIAL")
    shelf_life_min = Column(Integer, nullable=False)
    max_volume_ml = Column(Numeric(8, 2), nullable=True)
    # QC: a second person reviews results before QC passes (switchable per product, on by default).
    qc_review_required = Column(Boolean, nullable=False, server_default=text("true"))
    active = Column(Boolean, nullable=False, server_default=text("true"))

    nuclide = relationship("Nuclide")

    __table_args__ = (
        CheckConstraint("shelf_life_min > 0", name="ck_product_shelf_life_positive"),
        {"info": SEEDED},
    )

    def __repr__(self) -> str:
        return f"{self.code} — {self.name_en}"


class Site(Model):
    __tablename__ = "site"
    __table_args__ = {"info": SEEDED}

    id = Column(Integer, primary_key=True)
    code = Column(String(16), unique=True, nullable=False)
    name = Column(String(200), nullable=False)
    timezone = Column(String(64), nullable=False, server_default="Asia/Riyadh")
    address = Column(Text, nullable=True)
    active = Column(Boolean, nullable=False, server_default=text("true"))

    def __repr__(self) -> str:
        return self.name


class HotCell(Model):
    """A shielded hot cell and the synthesis module installed in it."""

    __tablename__ = "hot_cell"

    id = Column(Integer, primary_key=True)
    site_id = Column(Integer, ForeignKey("site.id"), nullable=False, index=True)
    code = Column(String(16), nullable=False)
    name = Column(String(200), nullable=False)
    module_type = Column(String(120), nullable=True)  # e.g. GE FASTlab 2
    active = Column(Boolean, nullable=False, server_default=text("true"))

    site = relationship("Site")

    __table_args__ = (UniqueConstraint("site_id", "code", name="uq_hot_cell_site_code"), {"info": SEEDED})

    def __repr__(self) -> str:
        return f"{self.code} ({self.module_type})" if self.module_type else self.code


class Customer(Model):
    """A hospital or clinic that orders doses; its licence gates which products it may receive."""

    __tablename__ = "customer"
    __table_args__ = {"info": SEEDED}

    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)
    name = Column(String(200), nullable=False)
    name_ar = Column(String(200), nullable=True)
    licence_number = Column(String(64), nullable=False)
    licence_expiry = Column(Date, nullable=False)
    credit_hold = Column(Boolean, nullable=False, server_default=text("false"))
    contact_email = Column(String(320), nullable=True)
    timezone = Column(String(64), nullable=False, server_default="Asia/Riyadh")
    active = Column(Boolean, nullable=False, server_default=text("true"))

    permitted_products = relationship("Product", secondary=customer_product, order_by="Product.code")

    def __repr__(self) -> str:
        return self.name


class CustomerUser(Model):
    """Ties a Customer-role login to exactly one hospital (what that user may see)."""

    __tablename__ = "customer_user"
    __table_args__ = {"info": SEEDED}

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), unique=True, nullable=False)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)

    user = relationship("User")
    customer = relationship("Customer")


class UserPreference(Model):
    """A person's display choices (activity in MBq or mCi); one row per user, absent = defaults."""

    __tablename__ = "user_preference"

    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    activity_unit = Column(String(8), nullable=False, server_default="MBq")
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    __table_args__ = (
        CheckConstraint("activity_unit IN ('MBq', 'mCi')", name="ck_user_preference_activity_unit"),
    )


class Supplier(Model):
    __tablename__ = "supplier"
    __table_args__ = {"info": SEEDED}

    id = Column(Integer, primary_key=True)
    name = Column(String(200), unique=True, nullable=False)
    approved = Column(Boolean, nullable=False, server_default=text("true"))
    contact_email = Column(String(320), nullable=True)

    def __repr__(self) -> str:
        return self.name


class Material(Model):
    """Starting materials and consumables: precursor, target water, cassettes, reagents."""

    __tablename__ = "material"
    __table_args__ = {"info": SEEDED}

    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)
    name = Column(String(200), nullable=False)
    kind = Column(String(32), nullable=False, server_default="REAGENT")
    unit = Column(String(16), nullable=False, server_default="unit")
    active = Column(Boolean, nullable=False, server_default=text("true"))

    def __repr__(self) -> str:
        return f"{self.code} — {self.name}"


class MaterialLot(Model):
    __tablename__ = "material_lot"

    id = Column(Integer, primary_key=True)
    material_id = Column(Integer, ForeignKey("material.id"), nullable=False, index=True)
    supplier_id = Column(Integer, ForeignKey("supplier.id"), nullable=False, index=True)
    supplier_lot_no = Column(String(64), nullable=False)
    expiry_date = Column(Date, nullable=False)
    status = Column(String(16), nullable=False, server_default="QUARANTINE")
    received_at = Column(DateTime(timezone=True), nullable=True)
    quantity = Column(Numeric(12, 3), nullable=True)

    material = relationship("Material")
    supplier = relationship("Supplier")

    __table_args__ = (
        UniqueConstraint("material_id", "supplier_id", "supplier_lot_no", name="uq_material_lot"),
        CheckConstraint(
            "status IN ('QUARANTINE', 'RELEASED', 'REJECTED', 'EXPIRED')", name="ck_material_lot_status"
        ),
        {"info": SEEDED},
    )

    def __repr__(self) -> str:
        return f"{self.supplier_lot_no}"

"""How the audit trail names master-data records (a code and a name instead of "Product 4")."""

from __future__ import annotations

from app.audit.labels import names_from, register_record_names
from app.masterdata import models as m


def register() -> None:
    register_record_names("Product", names_from(m.Product, lambda r: f"{r.code} · {r.name_en}"))
    register_record_names("Nuclide", names_from(m.Nuclide, lambda r: r.symbol))
    register_record_names("Customer", names_from(m.Customer, lambda r: r.name))
    register_record_names("Site", names_from(m.Site, lambda r: f"{r.code} · {r.name}"))
    register_record_names("HotCell", names_from(m.HotCell, lambda r: r.name))
    register_record_names("Supplier", names_from(m.Supplier, lambda r: r.name))
    register_record_names("Material", names_from(m.Material, lambda r: f"{r.code} · {r.name}"))
    register_record_names("MaterialLot", names_from(m.MaterialLot, lambda r: f"lot {r.supplier_lot_no}"))

"""Rules for master data values: what makes a product, nuclide, customer or lot record valid.

Pure functions over plain values; each returns {field: [messages]} (empty when valid) so the API
and the forms show the same words next to the same fields.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DOSE_FORMS = ("MULTIDOSE_VIAL", "UNIDOSE_SYRINGE", "UNIDOSE_VIAL", "KIT")
LOT_STATUSES = ("QUARANTINE", "RELEASED", "REJECTED", "EXPIRED")
MATERIAL_KINDS = ("PRECURSOR", "TARGET_MATERIAL", "CASSETTE", "KIT", "REAGENT", "CONSUMABLE")

# Product codes go into batch numbers and labels: short, upper case, no spaces.
PRODUCT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
NUCLIDE_SYMBOL = re.compile(r"^[A-Z][a-z]?-\d{1,3}m?$")  # F-18, Tc-99m, Lu-177
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Codes of sites, hot cells, customers and materials (issue 14): letters, digits and . _ / - (spaces
# only inside), never empty, never a control character.
RECORD_CODE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 ._/-]*[A-Za-z0-9])?$")
CODED = frozenset({"Site", "HotCell", "Customer", "Material"})
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Licence expiry within this many days is flagged on pages and in the order validation queue.
LICENCE_WARNING_DAYS = 30

Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _positive(errors: Errors, values: Mapping[str, Any], field: str, what: str, required: bool) -> None:
    value = values.get(field)
    if value is None or value == "":
        if required:
            _add(errors, field, f"Enter the {what}.")
        return
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        _add(errors, field, f"The {what} must be a number.")
        return
    if not number.is_finite() or number <= 0:
        _add(errors, field, f"The {what} must be greater than zero.")


def valid_timezone(name: str | None) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def validate_nuclide(values: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    symbol = values.get("symbol") or ""
    if not NUCLIDE_SYMBOL.match(symbol):
        _add(errors, "symbol", "Write the symbol as element-mass, e.g. F-18, Ga-68 or Tc-99m.")
    _positive(errors, values, "half_life_s", "half-life in seconds", required=True)
    if not (values.get("half_life_source") or "").strip():
        _add(errors, "half_life_source", "Name the source of the half-life (e.g. NNDC NuDat 3.0).")
    return errors


def validate_product(values: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    if not PRODUCT_CODE.match(values.get("code") or ""):
        _add(
            errors, "code", "Use 2–32 capital letters, digits or hyphens (the code goes into batch numbers)."
        )
    if values.get("dose_form") not in DOSE_FORMS:
        _add(errors, "dose_form", "Choose one of: " + ", ".join(DOSE_FORMS) + ".")
    _positive(errors, values, "shelf_life_min", "shelf life in minutes", required=True)
    shelf = values.get("shelf_life_min")
    if isinstance(shelf, Decimal | float) and shelf != int(shelf):
        _add(errors, "shelf_life_min", "The shelf life is a whole number of minutes.")
    _positive(errors, values, "max_volume_ml", "maximum volume in mL", required=False)
    return errors


def validate_customer(values: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    if not (values.get("licence_number") or "").strip():
        _add(errors, "licence_number", "Enter the hospital's radioactive-material licence number.")
    if not isinstance(values.get("licence_expiry"), dt.date):
        _add(errors, "licence_expiry", "Enter the licence expiry date.")
    email = values.get("contact_email")
    if email and not EMAIL.match(email):
        _add(errors, "contact_email", "Enter a valid e-mail address.")
    if not valid_timezone(values.get("timezone")):
        _add(errors, "timezone", "Use a time zone name such as Asia/Riyadh.")
    return errors


def validate_site(values: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    if not valid_timezone(values.get("timezone")):
        _add(errors, "timezone", "Use a time zone name such as Asia/Riyadh.")
    return errors


def validate_supplier(values: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    email = values.get("contact_email")
    if email and not EMAIL.match(email):
        _add(errors, "contact_email", "Enter a valid e-mail address.")
    return errors


def validate_material(values: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    if values.get("kind") not in MATERIAL_KINDS:
        _add(errors, "kind", "Choose one of: " + ", ".join(MATERIAL_KINDS) + ".")
    return errors


def validate_material_lot(values: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    if values.get("status") not in LOT_STATUSES:
        _add(errors, "status", "Choose one of: " + ", ".join(LOT_STATUSES) + ".")
    quantity = values.get("quantity")
    if quantity is not None and Decimal(str(quantity)) < 0:
        _add(errors, "quantity", "The quantity cannot be negative.")
    if not isinstance(values.get("expiry_date"), dt.date):
        _add(errors, "expiry_date", "Enter the expiry date printed on the supplier's label.")
    return errors


VALIDATORS = {
    "Nuclide": validate_nuclide,
    "Product": validate_product,
    "Customer": validate_customer,
    "Site": validate_site,
    "Supplier": validate_supplier,
    "Material": validate_material,
    "MaterialLot": validate_material_lot,
}


def _text_errors(entity: str, values: Mapping[str, Any]) -> Errors:
    """No control characters in any text (tabs and line breaks only in multi-line fields); codes
    follow RECORD_CODE."""
    errors: Errors = {}
    for field, value in values.items():
        if isinstance(value, str) and CONTROL.search(value):
            _add(errors, field, "Remove the control character: only printable text is kept.")
    if entity in CODED and "code" in values and "code" not in errors:
        code = values.get("code")
        if not isinstance(code, str) or not RECORD_CODE.match(code):
            _add(errors, "code", "Use letters, digits, dots, hyphens or slashes (no empty code).")
    return errors


def validate(entity: str, values: Mapping[str, Any]) -> Errors:
    check = VALIDATORS.get(entity)
    errors = _text_errors(entity, values)
    for field, messages in (check(values) if check else {}).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def licence_status(expiry: dt.date | None, today: dt.date) -> tuple[str, int | None]:
    """('expired' | 'expiring' | 'valid' | 'unknown', days left); 'expiring' within 30 days."""
    if expiry is None:
        return "unknown", None
    days = (expiry - today).days
    if days < 0:
        return "expired", days
    if days <= LICENCE_WARNING_DAYS:
        return "expiring", days
    return "valid", days


# --- critical master data changes -------------------------------------------------------------
# Fields whose change alters what every future batch of the product is (its identity, nuclide, shelf
# life, dose form, or whether QC needs a second reviewer): changing them needs an e-signature.
CRITICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "Product": ("code", "nuclide_id", "shelf_life_min", "dose_form", "qc_review_required"),
}
MASTERDATA_MEANING = "Approved change of GMP-critical master data"


def critical_changes(entity: str, before: dict, after: dict) -> dict[str, list]:
    """{field: [before, after]} for the GMP-critical fields of `entity` that changed."""
    return {
        f: [before.get(f), after.get(f)]
        for f in CRITICAL_FIELDS.get(entity, ())
        if before.get(f) != after.get(f)
    }

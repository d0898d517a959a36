"""Master data REST API (FAB ModelRestApi, OpenAPI at /api/v1/_openapi).

/api/v1/products/, /nuclides/, /customers/, /sites/, /hot-cells/, /suppliers/, /materials/,
/material-lots/. Reads need `can_read`, writes `can_write` on the resource. Writes go through
`app.masterdata.service` (validation, audit row, one commit). Product, nuclide and customer
updates need `"reason"` in the PUT body (422 REASON_REQUIRED without it).
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow import ValidationError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest

from app.core.api_errors import ApiErrorsMixin, error_response
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.core.lengths import NOTE_MAX, text_input
from app.masterdata import service
from app.masterdata.domain import CRITICAL_FIELDS
from app.masterdata.models import Customer, HotCell, Material, MaterialLot, Nuclide, Product, Site, Supplier

READ_WRITE = {
    "get": "read",
    "get_list": "read",
    "info": "read",
    "post": "write",
    "put": "write",
    "delete": "write",
}


def _refused(err: DomainError):
    return error_response(err.status, err.code, err.user_message, err.details or None)


MAX_OFFSET = 10**9  # rows skipped by a page: far beyond any master data table


class MasterDataApi(ApiErrorsMixin, ModelRestApi):
    """Generated CRUD whose writes go through the master data service."""

    method_permission_name = READ_WRITE
    allow_browser_login = False  # state-changing calls only with the bearer token
    page_size = 50

    def add_apispec_components(self, api_spec) -> None:
        """Document `reason` in the PUT body (not a column, so FAB's generated schema lacks it)."""
        super().add_apispec_components(api_spec)
        schema = api_spec.components.schemas.get(self.edit_model_schema_name)
        if isinstance(schema, dict):
            required = self.class_permission_name in service.REASON_REQUIRED
            schema.setdefault("properties", {})["reason"] = {
                "type": "string",
                "description": "Reason for the change, kept in the audit trail"
                + (" (required: GMP-relevant record)." if required else " (optional)."),
            }
            if self.class_permission_name in CRITICAL_FIELDS:
                schema["properties"]["password"] = {
                    "type": "string",
                    "format": "password",
                    "description": "Your password, re-entered: e-signs a change of a GMP-critical field ("
                    + ", ".join(CRITICAL_FIELDS[self.class_permission_name])
                    + "); 409 SIGNATURE_REQUIRED without it, 403 SIGNATURE_INVALID when wrong.",
                }

    def _sanitize_page_args(self, page, page_size):
        """FAB's paging, refusing a page so far that its offset overflows the database's integers (a
        500 before, found by the API fuzz test) or a negative page."""
        page_, size = super()._sanitize_page_args(page, page_size)
        if (page_ is not None and page_ < 0) or (page_ or 0) * max(size or 0, 1) > MAX_OFFSET:
            raise BadRequest(f"page must be from 0 to {MAX_OFFSET // max(size or 1, 1):,} at this page size.")
        return page_, size

    def get_list_headless(self, **kwargs):
        """FAB's list, answering 400 when a filter's value is beyond the column's range (e.g. 1e20 for
        an integer): PostgreSQL refused it and FAB answered 500 (found by the API fuzz test)."""
        try:
            return super().get_list_headless(**kwargs)
        except DataError:
            db.session.rollback()
            return error_response(
                400,
                "BAD_REQUEST",
                "A filter value is out of range for its field.",
                {"fields": {"filters": ["Out of range."]}},
            )

    def _payload(self) -> dict[str, Any] | None:
        if not request.is_json:
            return None
        data = request.get_json()
        return dict(data) if isinstance(data, dict) else None

    def post_headless(self):
        payload = self._payload()
        if payload is None:
            return error_response(400, "BAD_REQUEST", "Send a JSON object with the record's fields.")
        try:
            reason = text_input(payload.pop("reason", None), "reason", limit=NOTE_MAX)
            item = self.add_model_schema.load(payload)
        except ValidationError as err:
            db.session.rollback()
            return self.response_422(message=err.messages)
        except TypeError:  # a related record sent as an object of fields, not as its id
            db.session.rollback()
            return _related_by_id()
        except DataError:  # a related record's id beyond the database's integers (e.g. 1.6e16)
            db.session.rollback()
            return _related_by_id()
        except DomainError as err:
            return _refused(err)
        try:
            service.create(item, reason=reason)
        except DomainError as err:
            return _refused(err)
        return self.response(201, result=self.add_model_schema.dump(item), id=item.id)

    def put_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        payload = self._payload()
        if payload is None:
            return error_response(400, "BAD_REQUEST", "Send a JSON object with the fields to change.")
        try:
            reason = text_input(payload.pop("reason", None), "reason", limit=NOTE_MAX)
            password = payload.pop("password", None)
            if password is not None and not isinstance(password, str):
                raise ValidationFailed("password must be text.", {"password": ["Not text."]})
            change = service.Change(before=service.snapshot(item), reason=reason, password=password)
            data = self._merge_update_item(item, payload)
            item = self.edit_model_schema.load(data, instance=item)
        except ValidationError as err:
            db.session.rollback()
            return self.response_422(message=err.messages)
        except (TypeError, DataError):
            db.session.rollback()
            return _related_by_id()
        except DomainError as err:
            return _refused(err)
        try:
            service.update(item, change)
        except DomainError as err:
            return _refused(err)
        return self.response(200, result=self.edit_model_schema.dump(item))

    def delete_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        try:
            service.delete(item, reason=request.args.get("reason"))
        except DomainError as err:
            return _refused(err)
        return self.response(200, message="OK")


def _related_by_id():
    return error_response(
        422,
        "VALIDATION_ERROR",
        "Give a related record by its id (a number), not as an object of fields.",
        {"fields": {"record": ["Related records are given by id."]}},
    )


class NuclideApi(MasterDataApi):
    base_order = ("symbol", "asc")
    resource_name = "nuclides"
    class_permission_name = "Nuclide"
    datamodel = SQLAInterface(Nuclide)
    list_columns = ["id", "symbol", "name", "half_life_s", "half_life_source", "active"]
    show_columns = list_columns
    add_columns = edit_columns = ["symbol", "name", "half_life_s", "half_life_source", "active"]
    search_columns = ["symbol", "name", "active"]
    order_columns = ["symbol", "name", "half_life_s"]


class ProductApi(MasterDataApi):
    base_order = ("code", "asc")
    resource_name = "products"
    class_permission_name = "Product"
    datamodel = SQLAInterface(Product)
    list_columns = [
        "id",
        "code",
        "name_en",
        "name_ar",
        "nuclide.id",
        "nuclide.symbol",
        "dose_form",
        "shelf_life_min",
        "max_volume_ml",
        "qc_review_required",
        "active",
    ]
    show_columns = list_columns
    add_columns = edit_columns = [
        "code",
        "name_en",
        "name_ar",
        "nuclide",
        "dose_form",
        "shelf_life_min",
        "max_volume_ml",
        "qc_review_required",
        "active",
    ]
    search_columns = ["code", "name_en", "name_ar", "nuclide", "dose_form", "active"]
    order_columns = ["code", "name_en", "shelf_life_min"]


class CustomerApi(MasterDataApi):
    base_order = ("code", "asc")
    resource_name = "customers"
    class_permission_name = "Customer"
    datamodel = SQLAInterface(Customer)
    list_columns = [
        "id",
        "code",
        "name",
        "name_ar",
        "licence_number",
        "licence_expiry",
        "permitted_products.id",
        "permitted_products.code",
        "credit_hold",
        "contact_email",
        "timezone",
        "active",
    ]
    show_columns = list_columns
    add_columns = edit_columns = [
        "code",
        "name",
        "name_ar",
        "licence_number",
        "licence_expiry",
        "permitted_products",
        "credit_hold",
        "contact_email",
        "timezone",
        "active",
    ]
    search_columns = ["code", "name", "name_ar", "licence_number", "licence_expiry", "credit_hold", "active"]
    order_columns = ["code", "name", "licence_expiry"]


class SiteApi(MasterDataApi):
    base_order = ("code", "asc")
    resource_name = "sites"
    class_permission_name = "Site"
    datamodel = SQLAInterface(Site)
    list_columns = show_columns = ["id", "code", "name", "timezone", "address", "active"]
    add_columns = edit_columns = ["code", "name", "timezone", "address", "active"]
    search_columns = ["code", "name", "active"]


class HotCellApi(MasterDataApi):
    base_order = ("code", "asc")
    resource_name = "hot-cells"
    class_permission_name = "HotCell"
    datamodel = SQLAInterface(HotCell)
    list_columns = show_columns = ["id", "site.id", "site.code", "code", "name", "module_type", "active"]
    add_columns = edit_columns = ["site", "code", "name", "module_type", "active"]
    search_columns = ["site", "code", "name", "module_type", "active"]


class SupplierApi(MasterDataApi):
    base_order = ("name", "asc")
    resource_name = "suppliers"
    class_permission_name = "Supplier"
    datamodel = SQLAInterface(Supplier)
    list_columns = show_columns = ["id", "name", "approved", "contact_email"]
    add_columns = edit_columns = ["name", "approved", "contact_email"]
    search_columns = ["name", "approved"]


class MaterialApi(MasterDataApi):
    base_order = ("code", "asc")
    resource_name = "materials"
    class_permission_name = "Material"
    datamodel = SQLAInterface(Material)
    list_columns = show_columns = ["id", "code", "name", "kind", "unit", "active"]
    add_columns = edit_columns = ["code", "name", "kind", "unit", "active"]
    search_columns = ["code", "name", "kind", "active"]


class MaterialLotApi(MasterDataApi):
    base_order = ("expiry_date", "asc")
    resource_name = "material-lots"
    class_permission_name = "MaterialLot"
    datamodel = SQLAInterface(MaterialLot)
    list_columns = show_columns = [
        "id",
        "material.id",
        "material.code",
        "supplier.id",
        "supplier.name",
        "supplier_lot_no",
        "expiry_date",
        "status",
        "received_at",
        "quantity",
    ]
    add_columns = edit_columns = [
        "material",
        "supplier",
        "supplier_lot_no",
        "expiry_date",
        "status",
        "received_at",
        "quantity",
    ]
    search_columns = ["material", "supplier", "supplier_lot_no", "expiry_date", "status"]


APIS = (NuclideApi, ProductApi, CustomerApi, SiteApi, HotCellApi, SupplierApi, MaterialApi, MaterialLotApi)


def register(appbuilder) -> None:
    for api in APIS:
        appbuilder.add_api(api)

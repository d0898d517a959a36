"""Master data pages (FAB ModelViews): configuration only, every change through the service.

Permissions: `can_read` / `can_write` on the resource named in `app.security.roles.MASTER_DATA`.
Products, nuclides and customers are GMP-critical: editing asks for a reason for change, and they
have no delete (they are retired by unticking Active).
URLs: /products/list/, /nuclides/list/, /customers/list/, /sites/list/, /hot-cells/list/,
/suppliers/list/, /materials/list/, /material-lots/list/, /customer-users/list/.
"""

from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.masterdata import domain as rules
from app.masterdata import view_support as s
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

CATEGORY = "Master data"


class MasterDataView(s.ServiceCrudMixin, ModelView):
    method_permission_name = s.READ_WRITE
    edit_template = "masterdata/edit.html"
    show_template = "masterdata/show.html"
    page_size = 25
    # No bulk actions and no file columns: FAB's generic action/download routes are not exposed.
    exclude_route_methods = {"action", "action_post", "download"}


class GmpMasterDataView(MasterDataView):
    """Edits need a reason for change; records are retired (Active off), never deleted."""

    exclude_route_methods = {*MasterDataView.exclude_route_methods, "delete"}
    reason_required = True
    edit_form_extra_fields = {s.REASON_FIELD: s.reason_field()}


class NuclideModelView(GmpMasterDataView):
    route_base = "/nuclides"
    datamodel = SQLAInterface(Nuclide)
    class_permission_name = "Nuclide"
    list_title, show_title, add_title, edit_title = "Nuclides", "Nuclide", "Add nuclide", "Edit nuclide"
    edit_notice = "Half-lives drive every activity calculation and label."
    label_columns = {
        "symbol": "Symbol",
        "name": "Name",
        "half_life_s": "Half-life",
        "half_life_source": "Source of the half-life",
        "active": "Active",
        s.REASON_FIELD: "Reason for change",
    }
    list_columns = ["symbol", "name", "half_life_s", "half_life_source", "active"]
    show_columns = list_columns
    add_columns = ["symbol", "name", "half_life_s", "half_life_source", "active"]
    edit_columns = [*add_columns, s.REASON_FIELD]
    search_columns = ["symbol", "name", "half_life_source", "active"]
    order_columns = ["symbol", "name", "half_life_s"]
    base_order = ("symbol", "asc")
    description_columns = {
        "symbol": "Element and mass number, e.g. F-18, Ga-68, Tc-99m.",
        "half_life_s": "In seconds, e.g. 6586.2 for F-18 (109.77 min).",
        "half_life_source": "Where the value comes from, e.g. NNDC NuDat 3.0 or DDEP (LNHB).",
    }
    formatters_columns = {"half_life_s": s.fmt_half_life, "active": s.fmt_active}


class ProductModelView(GmpMasterDataView):
    route_base = "/products"
    datamodel = SQLAInterface(Product)
    class_permission_name = "Product"
    list_title, show_title, add_title, edit_title = "Products", "Product", "Add product", "Edit product"
    edit_notice = "Product data appear on batch records, labels and release certificates."
    label_columns = {
        "code": "Code",
        "name_en": "Name (English)",
        "name_ar": "Name (Arabic)",
        "nuclide": "Nuclide",
        "dose_form": "Dose form",
        "shelf_life_min": "Shelf life",
        "max_volume_ml": "Max. volume (mL)",
        "qc_review_required": "QC second review",
        "active": "Active",
        s.REASON_FIELD: "Reason for change",
        s.SIGNATURE_FIELD: "Password (e-signature)",
    }
    list_columns = [
        "code",
        "name_en",
        "name_ar",
        "nuclide",
        "dose_form",
        "shelf_life_min",
        "max_volume_ml",
        "active",
    ]
    show_columns = [*list_columns[:-1], "qc_review_required", "active"]
    add_columns = [
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
    edit_columns = [*add_columns, s.REASON_FIELD, s.SIGNATURE_FIELD]
    search_columns = ["code", "name_en", "name_ar", "nuclide", "dose_form", "active"]
    order_columns = ["code", "name_en", "shelf_life_min"]
    base_order = ("code", "asc")
    description_columns = {
        "code": "Short code used in batch numbers, e.g. FDG.",
        "shelf_life_min": "Minutes from end of synthesis, e.g. 600 for 10 h.",
        "qc_review_required": "A second person reviews QC results before QC passes.",
    }
    formatters_columns = {
        "name_ar": s.fmt_arabic,
        "name_en": s.fmt_auto,
        "dose_form": s.fmt_choice,
        "shelf_life_min": s.fmt_minutes,
        "max_volume_ml": s.fmt_number,
        "qc_review_required": s.fmt_yes_no,
        "active": s.fmt_active,
    }
    add_form_extra_fields = {
        "name_ar": s.arabic_field("Name (Arabic)"),
        "dose_form": s.choice_field("Dose form", rules.DOSE_FORMS),
    }
    edit_form_extra_fields = {
        **GmpMasterDataView.edit_form_extra_fields,
        **add_form_extra_fields,
        s.SIGNATURE_FIELD: s.signature_field(),
    }


class CustomerModelView(GmpMasterDataView):
    route_base = "/customers"
    datamodel = SQLAInterface(Customer)
    class_permission_name = "Customer"
    list_title, show_title, add_title, edit_title = (
        "Customers (hospitals)",
        "Customer",
        "Add customer",
        "Edit customer",
    )
    edit_notice = "Licence data decide which products a hospital may receive."
    label_columns = {
        "code": "Code",
        "name": "Hospital",
        "name_ar": "Name (Arabic)",
        "licence_number": "Licence no.",
        "licence_expiry": "Licence expiry",
        "permitted_products": "Permitted products",
        "credit_hold": "Credit hold",
        "contact_email": "Contact e-mail",
        "timezone": "Time zone",
        "active": "Active",
        s.REASON_FIELD: "Reason for change",
    }
    list_columns = [
        "code",
        "name",
        "name_ar",
        "licence_number",
        "licence_expiry",
        "permitted_products",
        "credit_hold",
        "active",
    ]
    show_columns = [
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
    add_columns = show_columns
    edit_columns = [*add_columns, s.REASON_FIELD]
    search_columns = ["code", "name", "name_ar", "licence_number", "licence_expiry", "credit_hold", "active"]
    order_columns = ["code", "name", "licence_expiry"]
    base_order = ("name", "asc")
    description_columns = {
        "licence_number": "Radioactive-material licence of the hospital.",
        "licence_expiry": "Orders are refused after this date; flagged 30 days ahead.",
        "permitted_products": "Products the licence allows this hospital to receive.",
        "credit_hold": "While on hold, new orders are refused.",
    }
    formatters_columns = {
        "name_ar": s.fmt_arabic,
        "name": s.fmt_auto,
        "licence_number": s.fmt_nowrap,
        "licence_expiry": s.fmt_licence_expiry,
        "permitted_products": s.fmt_products,
        "credit_hold": s.fmt_credit_hold,
        "active": s.fmt_active,
    }
    add_form_extra_fields = {"name_ar": s.arabic_field("Name (Arabic)"), "timezone": s.timezone_field()}
    edit_form_extra_fields = {**GmpMasterDataView.edit_form_extra_fields, **add_form_extra_fields}


class SiteModelView(MasterDataView):
    route_base = "/sites"
    datamodel = SQLAInterface(Site)
    class_permission_name = "Site"
    list_title, show_title, add_title, edit_title = "Sites", "Site", "Add site", "Edit site"
    label_columns = {
        "code": "Code",
        "name": "Name",
        "timezone": "Time zone",
        "address": "Address",
        "active": "Active",
        s.REASON_FIELD: "Reason for change",
    }
    list_columns = ["code", "name", "timezone", "active"]
    show_columns = add_columns = ["code", "name", "timezone", "address", "active"]
    edit_columns = [*add_columns, s.REASON_FIELD]
    search_columns = ["code", "name", "active"]
    base_order = ("code", "asc")
    formatters_columns = {"active": s.fmt_active, "name": s.fmt_auto}
    add_form_extra_fields = {"timezone": s.timezone_field()}
    reason_required = True
    edit_notice = "Sites and their time zone decide every local time on batch records and labels."
    edit_form_extra_fields = {**add_form_extra_fields, s.REASON_FIELD: s.reason_field()}


class HotCellModelView(MasterDataView):
    route_base = "/hot-cells"
    datamodel = SQLAInterface(HotCell)
    class_permission_name = "HotCell"
    list_title, show_title, add_title, edit_title = "Hot cells", "Hot cell", "Add hot cell", "Edit hot cell"
    label_columns = {
        "site": "Site",
        "code": "Code",
        "name": "Name",
        "module_type": "Synthesis module",
        "active": "Active",
        s.REASON_FIELD: "Reason for change",
    }
    list_columns = ["site", "code", "name", "module_type", "active"]
    show_columns = add_columns = list_columns
    edit_columns = [*list_columns, s.REASON_FIELD]
    search_columns = ["site", "code", "name", "module_type", "active"]
    base_order = ("code", "asc")
    description_columns = {"module_type": "e.g. GE FASTlab 2, Trasis AllInOne."}
    formatters_columns = {"active": s.fmt_active}
    reason_required = True
    edit_notice = "Hot cells are named on batch records."
    edit_form_extra_fields = {s.REASON_FIELD: s.reason_field()}


class SupplierModelView(MasterDataView):
    route_base = "/suppliers"
    datamodel = SQLAInterface(Supplier)
    class_permission_name = "Supplier"
    list_title, show_title, add_title, edit_title = "Suppliers", "Supplier", "Add supplier", "Edit supplier"
    label_columns = {
        "name": "Name",
        "approved": "Approved",
        "contact_email": "Contact e-mail",
        s.REASON_FIELD: "Reason for change",
    }
    list_columns = show_columns = add_columns = ["name", "approved", "contact_email"]
    edit_columns = [*add_columns, s.REASON_FIELD]
    search_columns = ["name", "approved"]
    base_order = ("name", "asc")
    description_columns = {"approved": "Only lots from approved suppliers may be released for use."}
    formatters_columns = {"approved": s.fmt_yes_no}
    reason_required = True
    edit_notice = "Supplier approval decides which material lots may be used."
    edit_form_extra_fields = {s.REASON_FIELD: s.reason_field()}


class MaterialModelView(MasterDataView):
    route_base = "/materials"
    datamodel = SQLAInterface(Material)
    class_permission_name = "Material"
    list_title, show_title, add_title, edit_title = "Materials", "Material", "Add material", "Edit material"
    label_columns = {"code": "Code", "name": "Name", "kind": "Kind", "unit": "Unit", "active": "Active"}
    list_columns = show_columns = add_columns = edit_columns = ["code", "name", "kind", "unit", "active"]
    search_columns = ["code", "name", "kind", "active"]
    base_order = ("code", "asc")
    formatters_columns = {"kind": s.fmt_choice, "active": s.fmt_active}
    add_form_extra_fields = edit_form_extra_fields = {"kind": s.choice_field("Kind", rules.MATERIAL_KINDS)}


class MaterialLotModelView(MasterDataView):
    route_base = "/material-lots"
    datamodel = SQLAInterface(MaterialLot)
    class_permission_name = "MaterialLot"
    list_title, show_title, add_title, edit_title = "Material lots", "Material lot", "Receive lot", "Edit lot"
    label_columns = {
        "material": "Material",
        "supplier": "Supplier",
        "supplier_lot_no": "Supplier lot no.",
        "expiry_date": "Expiry",
        "status": "Status",
        "received_at": "Received",
        "quantity": "Quantity",
    }
    list_columns = ["material", "supplier", "supplier_lot_no", "expiry_date", "status", "quantity"]
    show_columns = add_columns = edit_columns = [
        "material",
        "supplier",
        "supplier_lot_no",
        "expiry_date",
        "status",
        "received_at",
        "quantity",
    ]
    search_columns = ["material", "supplier", "supplier_lot_no", "expiry_date", "status"]
    order_columns = ["supplier_lot_no", "expiry_date", "status"]
    base_order = ("expiry_date", "asc")
    formatters_columns = {
        "expiry_date": s.fmt_lot_expiry,
        "status": s.fmt_lot_status,
        "quantity": s.fmt_number,
        "supplier_lot_no": s.fmt_nowrap,
    }
    add_form_extra_fields = edit_form_extra_fields = {"status": s.choice_field("Status", rules.LOT_STATUSES)}


class CustomerUserModelView(MasterDataView):
    """Admin only: which hospital a Customer-role login belongs to (what that user may see)."""

    route_base = "/customer-users"
    datamodel = SQLAInterface(CustomerUser)
    class_permission_name = "CustomerUser"
    list_title, show_title = "Customer portal users", "Customer portal user"
    add_title, edit_title = "Link a login to a hospital", "Edit portal user"
    label_columns = {"user": "Login", "customer": "Hospital"}
    list_columns = show_columns = add_columns = edit_columns = ["user", "customer"]
    search_columns = ["user", "customer"]
    description_columns = {
        "user": "A user with the Customer role.",
        "customer": "The hospital this login orders for.",
    }


VIEWS = (
    (ProductModelView, "Products", "fa-flask"),
    (CustomerModelView, "Customers", "fa-hospital"),
    (NuclideModelView, "Nuclides", "fa-atom"),
    (SiteModelView, "Sites", "fa-building"),
    (HotCellModelView, "Hot cells", "fa-radiation"),
    (SupplierModelView, "Suppliers", "fa-truck"),
    (MaterialModelView, "Materials", "fa-cubes"),
    (MaterialLotModelView, "Material lots", "fa-barcode"),
    (CustomerUserModelView, "Customer portal users", "fa-user-plus"),
)


def register(appbuilder) -> None:
    for view, label, icon in VIEWS:
        appbuilder.add_view(view, label, icon=icon, category=CATEGORY, category_icon="fa-database")

"""The role -> permission matrix, as data.

Permissions are named after business acts on resources (`can_release on Batch`). FAB views and APIs
map their methods onto these names with `class_permission_name` / `method_permission_name` (see
`app.security.perms`), so one row here guards the page and the API alike. `sync_roles()` makes the
database match this table (run by `flask rp sync-perms`, which the demo and the tests call after
`flask db upgrade`).
"""

from __future__ import annotations

READ = ("can_read",)
RW = ("can_read", "can_write")

MASTER_DATA = ("Nuclide", "Product", "Customer", "Site", "HotCell", "Supplier", "Material", "MaterialLot")

# Resources every signed-in internal role may read.
_INTERNAL_READ = {name: READ for name in MASTER_DATA}
_INTERNAL_READ["Notification"] = READ  # the bell: own notifications, mark as read
_INTERNAL_READ["Reservation"] = READ  # capacity holds and the windows' remaining minutes
# Booking capacity: hold minutes of a window, cancel a hold (capacity part).
BOOKING = ("can_read", "can_create", "can_cancel")
_INTERNAL_READ["Order"] = READ  # hospital orders and their journey (orders part)
_INTERNAL_READ["Ebr"] = (
    READ  # master batch records (issue 12); writing is QC Manager's, executing Production's
)

ROLE_DESCRIPTIONS: dict[str, str] = {
    "Admin": "Configuration, users and roles; stands in on batch paths only where the site has switched that on.",
    "Planner": "Plans and schedules batches against capacity; cancels planned batches.",
    "Production": "Starts and completes synthesis; opens deviations.",
    "QC Analyst": "Takes samples and enters QC results.",
    "QC Reviewer": "Reviews and approves or rejects QC results entered by others.",
    "QC Manager": "Owns QC templates and test definitions; closes deviations.",
    "QP": "Qualified Person: reviews, releases, holds or rejects batches with an e-signature.",
    "Dispensing": "Dispenses released batches into dose units.",
    "Logistics": "Packs, dispatches and closes shipments.",
    "Customer": "Hospital buyer: sees only their own hospital's orders and batches.",
    "Auditor": "Read-only access to records and the audit trail.",
}

MATRIX: dict[str, dict[str, tuple[str, ...]]] = {
    "Planner": {
        **_INTERNAL_READ,
        "QcSession": READ,
        "Batch": ("can_read", "can_create", "can_transition", "can_export"),
        "Order": ("can_read", "can_validate", "can_reject", "can_cancel"),
        "ValidationQueue": READ,
        "Planner": ("can_read", "can_plan"),
        "Kpi": READ,
        "Reservation": BOOKING,
        "CapacityAdmin": ("can_read", "can_generate"),
        "CapacityBooking": ("can_book",),
    },
    "Production": {
        **_INTERNAL_READ,
        "MaterialLot": RW,
        "Ebr": ("can_read", "can_execute"),
        "Batch": ("can_read", "can_transition", "can_export"),
        "QcSession": READ,
    },
    "QC Analyst": {
        **_INTERNAL_READ,
        "Batch": ("can_read", "can_transition", "can_export"),
        "QcTestDefinition": READ,
        "QcTemplate": READ,
        "QcSession": ("can_read", "can_enter"),
    },
    "QC Reviewer": {
        **_INTERNAL_READ,
        "Batch": ("can_read", "can_transition", "can_export"),
        "QcTestDefinition": READ,
        "QcTemplate": READ,
        "QcSession": ("can_read", "can_review"),
    },
    "QC Manager": {
        **_INTERNAL_READ,
        "Batch": ("can_read", "can_transition", "can_export"),
        "QcTestDefinition": RW,
        "QcTemplate": ("can_read", "can_write", "can_activate"),
        "Ebr": ("can_read", "can_write", "can_activate"),
        "Kpi": READ,
        "QcSession": ("can_read", "can_enter", "can_review"),
        "Release": READ,
    },
    "QP": {
        **_INTERNAL_READ,
        "Batch": ("can_read", "can_transition", "can_export", "can_release"),
        "Kpi": READ,
        "Release": READ,
        "ESignature": READ,
        "QcTemplate": READ,
        "QcSession": READ,
        "Planner": READ,
    },
    "Dispensing": {
        **_INTERNAL_READ,
        "Batch": ("can_read", "can_transition", "can_export"),
        "QcSession": READ,
    },
    "Logistics": {**_INTERNAL_READ, "Batch": ("can_read", "can_transition", "can_export"), "QcSession": READ},
    "Customer": {
        "Product": READ,
        "Batch": READ,
        "Notification": READ,
        "Order": ("can_read", "can_create", "can_cancel"),
        "Reservation": BOOKING,
        "CapacityBooking": ("can_book",),
    },
    "Auditor": {
        **_INTERNAL_READ,
        "Batch": ("can_read", "can_export"),
        "AuditLog": ("can_read", "can_verify"),
        "Release": READ,
        "QpAuthorisation": READ,
        "ESignature": READ,
        "QcTestDefinition": READ,
        "QcTemplate": READ,
        "QcSession": READ,
    },
}

# Every signed-in user may use these (FAB's own user-info and password pages, the home page). Not
# FAB's user-info *edit* form: the printed name on signatures and records is not its owner's to change
# (issue 14); only Admin changes names, in the Users list, audited by security.audit_hooks.
COMMON: dict[str, tuple[str, ...]] = {
    "ResetMyPasswordView": ("can_this_form_get", "can_this_form_post"),
    "UserDBModelView": ("can_userinfo", "resetmypassword"),
    "Home": ("can_read",),
}

ROLES = ("Admin", *MATRIX.keys())

# The role table (ROLE_DESCRIPTIONS and batches.domain.flow) for acts that are finer than
# `can_transition`: deviations are opened by Production and QC and closed by QC Manager and QP;
# only QC Manager gives a batch the product's active QC template.
DEVIATION_OPENERS = ("Production", "QC Analyst", "QC Reviewer", "QC Manager")
DEVIATION_CLOSERS = ("QC Manager", "QP")
for _role in DEVIATION_OPENERS:
    MATRIX[_role]["Batch"] = (*MATRIX[_role]["Batch"], "can_open_deviation")
for _role in DEVIATION_CLOSERS:
    MATRIX[_role]["Batch"] = (*MATRIX[_role]["Batch"], "can_close_deviation")
MATRIX["QC Manager"]["QcSession"] = (*MATRIX["QC Manager"]["QcSession"], "can_attach_template")

# Admin gets every permission except these: Admin is configuration, users and roles, and must not
# record GMP data under its own name (QC results, QC submission, samples, attachments), open or
# close deviations, or edit its own printed name through FAB's self-service form.
ADMIN_EXCLUDED: frozenset[tuple[str, str]] = frozenset(
    {
        ("can_enter", "QcSession"),
        ("can_this_form_get", "UserInfoEditView"),
        ("can_this_form_post", "UserInfoEditView"),
        ("can_open_deviation", "Batch"),
        ("can_close_deviation", "Batch"),
        # QC review and the QP's disposition are GMP decisions of those roles, never configuration.
        ("can_review", "QcSession"),
        ("can_release", "Batch"),
    }
)

# Dispensing, logistics, genealogy and recall (issue 11): what each role may do with dose units,
# shipments, material records, the genealogy and recalls. A hospital sees and confirms only its own
# (the services filter by its customer).
_DISPATCH_ACTS = ("can_read", "can_pack", "can_dispatch", "can_deliver", "can_cancel")
_DOWNSTREAM_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "Production": {"BatchMaterial": ("can_read", "can_record"), "Genealogy": READ},
    "Dispensing": {"DoseUnit": ("can_read", "can_dispense", "can_label"), "Genealogy": READ},
    "Logistics": {
        "DoseUnit": ("can_read", "can_label"),
        "Shipment": _DISPATCH_ACTS,
        "Genealogy": READ,
        "Recall": READ,
    },
    "QP": {"DoseUnit": READ, "Shipment": READ, "Genealogy": READ, "Recall": ("can_read", "can_open")},
    "QC Manager": {"Genealogy": READ, "Recall": READ},
    "Planner": {"DoseUnit": READ, "Shipment": READ},
    "Auditor": {"DoseUnit": READ, "Shipment": READ, "Genealogy": READ, "Recall": READ},
    "Customer": {"DoseUnit": READ, "Shipment": ("can_read", "can_deliver")},
}
for _role, _grants in _DOWNSTREAM_GRANTS.items():
    MATRIX[_role].update(_grants)

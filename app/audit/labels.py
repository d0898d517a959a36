"""The audit trail in the words people use: "QC result", "Correction", "Shipment status: Packed →
Dispatched", a user's name instead of "User 11". The raw value stays on hover for auditors (the
stored row never changes; only its display does).

Record names come from the part that owns the record: each part registers a resolver for its
entity types at start-up (`register_record_names`), so the audit part knows no part above it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from app.core.extensions import db

# Entity types as people say them. Unknown types fall back to their words ("DeliveryWindow" ->
# "Delivery window").
ENTITY_LABELS: dict[str, str] = {
    "Batch": "Batch",
    "BatchQcSession": "QC session",
    "BatchQcResult": "QC result",
    "BatchQcSample": "QC sample",
    "OosCase": "OOS investigation",
    "QpProductAuthorisation": "QP release right",
    "ProductQcTemplate": "QC template",
    "QcTestDefinition": "QC test definition",
    "CustomerUser": "Hospital portal user",
    "HotCell": "Hot cell",
    "MaterialLot": "Material lot",
    "User": "User",
    "Role": "Role",
    "ESignature": "E-signature",
    "BatchDisposition": "QP decision",
    "AuditVerification": "Audit chain verification",
}

ACTION_LABELS: dict[str, str] = {
    "CREATE": "Created",
    "UPDATE": "Changed",
    "DELETE": "Deleted",
    "STATUS_CHANGE": "Status changed",
    "CORRECT_RESULT": "Correction",
    "ENTER_RESULT": "Result entered",
    "REVIEW_APPROVE": "QC approved",
    "REVIEW_REJECT": "QC returned",
    "QP_DISPOSITION": "QP decision",
    "LOGIN": "Signed in",
    "LOGIN_FAILED": "Sign-in failed",
    "ROLE_PERMISSIONS_SYNC": "Role permissions synchronised",
    "ATTACH_FILE": "File attached",
    "CREATE_VERSION": "New version drafted",
    "ACTIVATE": "Activated",
    "GRANT": "Granted",
    "REVOKE": "Revoked",
    "SIGN": "Signed",
    "SIGN_FAILED": "Signature refused",
    "OPEN": "Opened",
    "CLOSE": "Closed",
    "SUBMIT": "Submitted",
    "START": "Started",
}

# Words that stay in capitals when an identifier becomes words.
_ACRONYMS = {
    "qc",
    "qp",
    "oos",
    "ebr",
    "un",
    "ti",
    "id",
    "utc",
    "url",
    "csv",
    "pdf",
    "coa",
    "mbq",
    "gbq",
    "kpi",
    "api",
}
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def words(identifier: str) -> str:
    """'shipment_status' -> 'Shipment status', 'BatchQcResult' -> 'Batch QC result', 'QC_PASSED' -> 'QC passed'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", identifier).replace("_", " ").strip()
    parts = [p.upper() if p.lower() in _ACRONYMS else p.lower() for p in spaced.split()]
    if not parts:
        return identifier
    first = parts[0] if parts[0].isupper() else parts[0].capitalize()
    return " ".join([first, *parts[1:]])


def entity_label(entity_type: str | None) -> str:
    if not entity_type:
        return "—"
    return ENTITY_LABELS.get(entity_type) or words(entity_type)


def action_label(action: str | None) -> str:
    if not action:
        return "—"
    return ACTION_LABELS.get(action) or words(action)


def field_label(field: str) -> str:
    return words(field)


def value_label(value: Any) -> Any:
    """A stored code ('DISPATCHED') as words ('Dispatched'); anything else unchanged."""
    if isinstance(value, str) and _CODE.match(value) and len(value) > 1:
        return words(value)
    return value


# --- record names, resolved by the part that owns the record -----------------------------------------
NameResolver = Callable[[list[str]], dict[str, str]]
_RESOLVERS: dict[str, NameResolver] = {}


def register_record_names(entity_type: str, resolver: NameResolver) -> None:
    """A part tells the audit viewer how to name its records (ids -> name), one query per page."""
    _RESOLVERS[entity_type] = resolver


def _user_names(ids: list[str]) -> dict[str, str]:
    from flask_appbuilder.security.sqla.models import User

    numeric = numeric_ids(ids)
    rows = db.session.execute(
        select(User.id, User.first_name, User.last_name, User.username).where(User.id.in_(numeric))
    ).all()
    return {str(r.id): (f"{r.first_name} {r.last_name}".strip() or r.username) for r in rows}


register_record_names("User", _user_names)


def names_from(model: Any, name: Callable[[Any], str]) -> NameResolver:
    """A resolver that loads `model` rows by id and names each with `name(row)`."""

    def resolve(ids: list[str]) -> dict[str, str]:
        rows = db.session.execute(select(model).where(model.id.in_(numeric_ids(ids)))).scalars()
        return {str(r.id): name(r) for r in rows}

    return resolve


def record_names(rows: Iterable[Any]) -> dict[tuple[str, str], str]:
    """(entity type, id) -> the record's name, for the rows of one page."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.entity_id and row.entity_type in _RESOLVERS:
            wanted[row.entity_type].add(str(row.entity_id))
    names: dict[tuple[str, str], str] = {}
    for entity_type, ids in wanted.items():
        for key, name in _RESOLVERS[entity_type](sorted(ids)).items():
            names[(entity_type, key)] = name
    return names


def numeric_ids(ids: list[str]) -> list[int]:
    """Ids that can be record keys (resolvers ignore anything else)."""
    return [int(i) for i in ids if i.isdigit() and len(i) < 10]

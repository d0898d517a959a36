"""Critical changes need a signature: edits of GMP-critical master data fields (a product's code,
nuclide, shelf life, dose form, QC second-review switch; `release_rules.CRITICAL_FIELDS`).

`update_with_signature` is `app.services.master_data.update` with one more rule: when a critical
field changes, the editor re-enters their password and signs (scope MASTERDATA_CHANGE); the
ESignature is linked to the UPDATE audit row (signature_id), in the same transaction as the change.
Edits that touch no critical field are saved exactly as `master_data.update` saves them.

Wiring (to be done in the master data service/pages, which another module owns): the product edit
form asks for the password when `critical_fields_changed(...)` is not empty and calls
`update_with_signature` instead of `master_data.update`. The other signed critical changes are
batch dispositions (`app.services.release`) and QC template activation (`app.services.qc_templates`).
"""

from __future__ import annotations

from typing import Any

from app.domain import release_rules as rules
from app.extensions import db
from app.security import esign
from app.services import audit
from app.services import master_data as md
from app.services.actor import Actor, current_actor


def critical_fields_changed(item: Any, before: dict[str, Any]) -> dict[str, list]:
    """The critical fields an edit (already applied to `item`, not yet flushed) changes."""
    with db.session.no_autoflush:
        after = md.snapshot(item)
    if hasattr(item, "nuclide") and getattr(item, "nuclide", None) is not None:
        after["nuclide_id"] = item.nuclide.id  # a form sets the relationship, not the column
    return rules.critical_changes(md.entity_name(item), before, after)


def update_with_signature(
    item: Any,
    change: md.Change,
    *,
    password: str | None = None,
    meaning: str | None = None,
    actor: Actor | None = None,
) -> Any:
    """Save an edit of a master data record; a change of a GMP-critical field needs the editor's
    e-signature (MASTERDATA_CHANGE), linked to the audit row. Same reason and validation rules as
    `master_data.update`; one commit."""
    actor = actor or current_actor()
    entity = md.entity_name(item)
    try:
        reason = md._reason(entity, change.reason)
        md._validate(item)
        md._flush(item)
        after = md.snapshot(item)
        critical = rules.critical_changes(entity, change.before, after)
        signature_id = None
        if critical:
            sig = esign.sign(
                actor,
                password,
                scope="MASTERDATA_CHANGE",
                entity_type=entity,
                entity_id=item.id,
                meaning=meaning or f"{rules.MASTERDATA_MEANING}: {', '.join(critical)}",
                content={"entity": entity, "id": item.id, "changes": critical, "reason": reason},
                comment=reason,
            )
            signature_id = sig.id
        if audit.diff(change.before, after):
            audit.record(
                entity,
                item.id,
                "UPDATE",
                before=change.before,
                after=after,
                reason=reason,
                actor=actor,
                signature_id=signature_id,
            )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return item

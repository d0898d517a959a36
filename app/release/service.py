"""QP disposition of a batch: release, hold, reject or lift a hold, with the QP's e-signature.

`decide_disposition` is the one business action. In one transaction it
1. locks the batch row (a concurrent decision or transition waits, then sees the new state);
2. checks the request: the disposition is possible from the batch's state, the QP's role may make
   the move (the batch machine, `app.batches.domain.flow`), a comment is given where needed, the
   meaning is the disposition's fixed meaning;
3. checks segregation of duties and the QP's release rights for the product
   (`app.release.domain`), before the password is even looked at;
4. signs (`app.security.esign.sign`, scope BATCH_RELEASE: password re-entered, failures recorded
   and locked out by the signature service);
5. moves the batch through `app.batches.service.apply_transition` with the signature id (one
   batch event whose metadata carries the signature manifestation, one audit row, notifications);
6. writes the BatchDisposition (with the findings the QP saw) and the BatchReleaseSignature, and
   one audit row QP_DISPOSITION linked to the signature;
7. commits once. In-app notifications are written with the move and e-mails go out after commit.

Every refused attempt is audited: the action is rolled back and a DISPOSITION_REFUSED audit row is
committed on its own (a wrong password or a locked signature is already recorded by the signature
service, so it is not recorded twice).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.audit import service as audit
from app.batches import service as batches
from app.batches.domain import flow as batch_flow
from app.batches.domain.states import label
from app.core.actor import Actor
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.core.tracing import current_trace_id
from app.masterdata.models import Product
from app.release import domain as rules
from app.release import review as release_review
from app.release.models import BatchDisposition, BatchReleaseSignature
from app.security import esign
from app.security.models import ESignature

MAX_COMMENT = 2000
# Refusals the signature service has already written to the audit trail.
_ALREADY_AUDITED = frozenset({"SIGNATURE_INVALID", "SIGNATURE_LOCKED"})


def decide_disposition(
    batch_id: int,
    disposition: Any,
    *,
    actor: Actor,
    password: str | None,
    meaning: str | None = None,
    comment: str | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> BatchDisposition:
    """Sign a QP disposition and move the batch (see the module docstring for the full rule)."""
    try:
        record = _decide(batch_id, disposition, actor, password, meaning, comment, expected_version, now)
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        if "uq_batch_event_one_move_per_version" not in str(err.orig):
            raise
        conflict = DomainError(
            "CONFLICT", "The batch was changed by someone else. Reload and try again.", 409
        )
        _audit_refusal(batch_id, disposition, actor, conflict)
        raise conflict from err
    except DomainError as err:
        db.session.rollback()
        if err.code not in _ALREADY_AUDITED:
            _audit_refusal(batch_id, disposition, actor, err)
        raise
    except Exception:
        db.session.rollback()
        raise
    return record


@dataclass
class _Request:
    """A disposition request that passed every check that costs the QP no password attempt."""

    batch: Any
    disposition: str
    source: str
    dest: str
    comment: str | None
    meaning: str


def _decide(
    batch_id: int,
    raw_disposition: Any,
    actor: Actor,
    password: str | None,
    meaning: str | None,
    comment: str | None,
    expected_version: int | None,
    now: dt.datetime | None,
) -> BatchDisposition:
    req = _checked_request(batch_id, raw_disposition, actor, meaning, comment, expected_version, now)
    findings = release_review.findings(req.batch, now)
    sig = _sign(req, actor, password, findings)
    return _record(req, actor, sig, findings)


def _checked_request(
    batch_id: int,
    raw_disposition: Any,
    actor: Actor,
    meaning: str | None,
    comment: str | None,
    expected_version: int | None,
    now: dt.datetime | None,
) -> _Request:
    """Every refusal that does not need the password comes first: a request the batch machine, the
    shelf life or the QP's rights would refuse must not cost the QP a password attempt."""
    disposition = rules.parse_disposition(raw_disposition)
    comment = _comment(comment)
    batch = batches.lock_batch(batch_id)
    if expected_version is not None and batch.version != expected_version:
        raise DomainError(
            "CONFLICT",
            f"The batch was changed by someone else. It is now {label(batch.status)}. Reload and try again.",
            409,
        )
    source, prior = batch.status, batch.status_before_exception
    dest = rules.target_status(disposition, source, prior)
    rules.check_comment(disposition, comment)
    meaning = rules.check_meaning(disposition, meaning, prior)
    ctx = batch_flow.TransitionContext(
        batch=batches.batch_context(batch), roles=actor.roles, note=comment, has_signature=True
    )
    batch_flow.check(ctx, dest)
    batches.check_not_expired(batch, dest, now)
    problem = release_review.refusal_for(actor, batch, disposition, now)
    if problem:
        raise problem
    return _Request(batch, disposition, source, dest, comment, meaning)


def _sign(req: _Request, actor: Actor, password: str | None, findings: list) -> ESignature:
    """The QP's e-signature over what the QP saw: the move, the exceptions and every finding."""
    batch = req.batch
    product = db.session.get(Product, batch.product_id)
    return esign.sign(
        actor,
        password,
        scope="BATCH_RELEASE",
        entity_type="Batch",
        entity_id=batch.id,
        meaning=req.meaning,
        comment=req.comment,
        content={
            "batch_id": batch.id,
            "batch_no": batch.batch_no,
            "product": product.code,
            "disposition": req.disposition,
            "from_status": req.source,
            "to_status": req.dest,
            "exceptions_count": rules.exception_count(findings),
            "findings": [f.as_dict() for f in findings],
        },
    )


def _record(req: _Request, actor: Actor, sig: ESignature, findings: list) -> BatchDisposition:
    """The signed move, the disposition record, its signature row and the audit row (one transaction)."""
    batch, disposition, comment = req.batch, req.disposition, req.comment
    exceptions = rules.exception_count(findings)
    shown = esign.manifestation(sig)
    event = batches.apply_transition(
        batch,
        req.dest,
        actor,
        comment,
        {
            "disposition": disposition,
            "exceptions_count": exceptions,
            "signature": {k: shown[k] for k in _MANIFESTATION_KEYS},
        },
        signature_id=sig.id,
    )
    db.session.flush()
    record = BatchDisposition(
        batch_id=batch.id,
        disposition=disposition,
        from_status=req.source,
        to_status=req.dest,
        decided_by_id=actor.user_id,
        decided_by_name=sig.signer_name,
        decided_at=sig.signed_at,
        comment=comment,
        exceptions_count=exceptions,
        findings=[f.as_dict() for f in findings],
        signature_id=sig.id,
        batch_event_id=event.id,
        trace_id=current_trace_id(),
    )
    db.session.add(record)
    db.session.flush()
    db.session.add(
        BatchReleaseSignature(
            batch_id=batch.id,
            disposition_id=record.id,
            disposition=disposition,
            signer_id=sig.signer_id,
            signer_name=sig.signer_name,
            signed_at=sig.signed_at,
            meaning=sig.meaning,
            comment=comment,
            esignature_id=sig.id,
        )
    )
    audit.record(
        "Batch",
        batch.id,
        "QP_DISPOSITION",
        before={"status": req.source},
        after={
            "disposition": disposition,
            "status": req.dest,
            "disposition_id": record.id,
            "exceptions_count": exceptions,
            "signature": shown,
        },
        reason=comment,
        actor=actor,
        signature_id=sig.id,
    )
    return record


_MANIFESTATION_KEYS = (
    "signature_id",
    "printed_name",
    "roles",
    "meaning",
    "comment",
    "signed_at_utc",
    "utc_text",
    "local_text",
    "timezone",
)


def _comment(comment: Any) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise ValidationFailed("The comment must be text.", {"comment": ["Not text."]})
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(
            f"The comment is too long ({MAX_COMMENT} characters at most).", {"comment": ["Too long."]}
        )
    return comment or None


def _audit_refusal(batch_id: Any, disposition: Any, actor: Actor, err: DomainError) -> None:
    """Keep the refused attempt in the audit trail, committed on its own."""
    try:
        audit.record(
            "Batch",
            batch_id,
            "DISPOSITION_REFUSED",
            after={
                "disposition": str(disposition or "")[:20],
                "code": err.code,
                "status": err.status,
                "message": err.user_message,
            },
            reason=err.user_message,
            actor=actor,
        )
        db.session.commit()
    except Exception:  # the refusal itself must still reach the user
        db.session.rollback()
        current_app.logger.exception("could not audit a refused disposition (batch %s)", batch_id)


def esign_of(record: BatchDisposition) -> ESignature:
    """The e-signature a disposition was signed with."""
    return db.session.get(ESignature, record.signature_id)

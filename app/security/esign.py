"""Electronic signatures: re-authentication, meaning, signature records, lockout.

Rules (21 CFR Part 11 / EU GMP Annex 11 style), all enforced in `sign()`:
- A signature needs the signer's password re-entered in the same request, even with a valid session
  or token; the password is checked against the user's stored hash.
- A wrong password applies nothing: the caller's pending work is rolled back, the failure is kept
  (SignatureFailure + audit row SIGNATURE_FAILED, committed on their own) and SIGNATURE_INVALID is
  raised.
- SIGNATURE_MAX_FAILURES wrong passwords in a row (no success in between, all within
  SIGNATURE_LOCK_MINUTES) lock signing for that user for SIGNATURE_LOCK_MINUTES; Admin users are
  notified once, when the lock starts. Attempts while locked are refused and audited.
- A signature records who (id, printed name, roles at that moment), when (UTC, database clock),
  what (scope, entity, SHA-256 of the canonical JSON of the signed content) and what it means; its
  audit row (action SIGN) carries the signature id. Both are in the caller's transaction: the
  signature exists exactly when the signed change commits.

Times used to compute lock expiry come from the `now` argument (a test can move it), never from
PostgreSQL's now(), which a frozen test clock cannot move.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_appbuilder.security.utils import is_null_password
from sqlalchemy import and_, func, select, text
from werkzeug.security import check_password_hash

from app.audit import service as audit
from app.core import clock
from app.core.actor import Actor, actor_from_user
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.core.tracing import current_trace_id
from app.core.web import fmt_local, fmt_utc, to_local
from app.security.models import SIGNATURE_SCOPES, ESignature, SignatureFailure

INVALID_MESSAGE = "The password is not correct. The signature was not applied."

# Failures older than this cannot influence today's lock state (a lock lasts one window and needs
# its failures within one window before it); a generous bound keeps the query small.
_HISTORY = dt.timedelta(hours=24)


# --- signed content -------------------------------------------------------------------------------
def canonical_json(content: dict[str, Any]) -> bytes:
    """The exact bytes that are hashed: sorted keys, no whitespace, UTF-8, JSON-safe values."""
    return json.dumps(
        audit.jsonable(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def content_sha256(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


# --- lockout arithmetic (pure) --------------------------------------------------------------------
@dataclass(frozen=True)
class LockState:
    failures_in_row: int  # failures counting towards the next lock at `now`
    locked_until: dt.datetime | None  # set while a lock is active

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


def lock_state(
    failure_times: Iterable[dt.datetime], *, now: dt.datetime, max_failures: int, window: dt.timedelta
) -> LockState:
    """Replay failures (oldest first, all after the user's last successful signature).

    A run of `max_failures` failures, each within `window` of the last, starts a lock of `window`;
    the run then starts again from zero.
    """
    run: list[dt.datetime] = []
    locked_until: dt.datetime | None = None
    for at in sorted(failure_times):
        run = [t for t in run if t > at - window]
        run.append(at)
        if len(run) >= max_failures:
            locked_until, run = at + window, []
    run = [t for t in run if t > now - window]
    active = locked_until if locked_until is not None and locked_until > now else None
    return LockState(failures_in_row=len(run), locked_until=active)


def _settings() -> tuple[int, dt.timedelta]:
    cfg = current_app.config
    return int(cfg.get("SIGNATURE_MAX_FAILURES", 5)), dt.timedelta(
        minutes=int(cfg.get("SIGNATURE_LOCK_MINUTES", 15))
    )


def current_lock_state(user_id: int, now: dt.datetime | None = None) -> LockState:
    """The signing lock state of a user at `now` (for pages that want to warn before asking)."""
    now = now or clock.now()
    max_failures, window = _settings()
    last_success = db.session.execute(
        select(func.max(ESignature.signed_at)).where(ESignature.signer_id == user_id)
    ).scalar()
    since = now - _HISTORY
    if last_success is not None and last_success > since:
        since = last_success
    times = db.session.execute(
        select(SignatureFailure.failed_at).where(
            and_(SignatureFailure.user_id == user_id, SignatureFailure.failed_at > since)
        )
    ).scalars()
    return lock_state(times, now=now, max_failures=max_failures, window=window)


def _local_hhmm(at: dt.datetime) -> str:
    local = to_local(at)
    assert local is not None
    return f"{local:%H:%M} {current_app.config['SITE_TIMEZONE']}"


# --- signing --------------------------------------------------------------------------------------
def sign(
    actor: Actor,
    password: str | None,
    *,
    scope: str,
    entity_type: str,
    entity_id: Any,
    meaning: str,
    content: dict[str, Any],
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> ESignature:
    """Apply `actor`'s electronic signature inside the caller's transaction (the caller commits).

    Rule: re-enter the password for every signature; a wrong password rolls back the caller's
    pending work, is recorded and committed on its own, and raises SIGNATURE_INVALID (403); while
    signing is locked after repeated failures, SIGNATURE_LOCKED (423). See the module docstring.
    """
    if scope not in SIGNATURE_SCOPES:
        raise ValueError(f"unknown signature scope {scope!r}")
    meaning = (meaning or "").strip()
    if not meaning:
        raise ValidationFailed("State what your signature means.", {"meaning": ["Required."]})
    if len(meaning) > 300:
        raise ValidationFailed(
            "The meaning is too long (300 characters at most).", {"meaning": ["Too long."]}
        )
    if actor.is_system:
        raise DomainError("SIGNATURE_NOT_ALLOWED", "Only a signed-in person can sign.", 403)
    if not isinstance(password, str) or is_null_password(password):
        raise ValidationFailed("Enter your password to sign.", {"password": ["Required."]})
    now = now or clock.now()
    comment = (comment or "").strip() or None
    user = db.session.get(current_app.appbuilder.sm.user_model, actor.user_id)  # type: ignore[attr-defined]
    if user is None or not user.is_active:
        raise DomainError("SIGNATURE_NOT_ALLOWED", "Your account cannot sign. Ask an administrator.", 403)

    state = current_lock_state(user.id, now)
    if state.locked:
        _refuse_locked(actor, scope, entity_type, entity_id, meaning, state, now)
    if not check_password_hash(user.password or "", password):
        _refuse_wrong_password(actor, scope, entity_type, entity_id, meaning, now)

    signer = actor_from_user(user)  # name and roles as they are at this moment
    signature = ESignature(
        scope=scope,
        entity_type=entity_type,
        entity_id=str(entity_id),
        signer_id=user.id,
        signer_name=signer.printed_name,
        signer_roles=signer.roles_text,
        meaning=meaning,
        comment=comment,
        content_sha256=content_sha256(content),
        trace_id=current_trace_id(),
        signed_at=clock.stamp(),  # the database clock at the moment of signing (a story's while seeding)
    )
    db.session.add(signature)
    db.session.flush()
    audit.record(
        entity_type,
        entity_id,
        "SIGN",
        after={
            "scope": scope,
            "meaning": meaning,
            "comment": comment,
            "content_sha256": signature.content_sha256,
            "signature_id": signature.id,
        },
        actor=signer,
        signature_id=int(signature.id),
    )
    return signature


def _serialise_user(user_id: int) -> None:
    """One failure at a time per user, so two parallel wrong passwords cannot both miss the lock."""
    db.session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('esign_failures'), :uid)"), {"uid": user_id}
    )


def _refuse_wrong_password(
    actor: Actor, scope: str, entity_type: str, entity_id: Any, meaning: str, now: dt.datetime
) -> None:
    db.session.rollback()  # nothing the caller prepared may survive a failed signature
    assert actor.user_id is not None
    _serialise_user(actor.user_id)
    before = current_lock_state(actor.user_id, now)
    if before.locked:  # a parallel attempt started the lock while we checked the password
        _refuse_locked(actor, scope, entity_type, entity_id, meaning, before, now)
    db.session.add(
        SignatureFailure(user_id=actor.user_id, failed_at=now, scope=scope, entity_id=str(entity_id))
    )
    max_failures, window = _settings()
    in_row = before.failures_in_row + 1
    locks = in_row >= max_failures
    locked_until = now + window if locks else None
    audit.record(
        entity_type,
        entity_id,
        "SIGNATURE_FAILED",
        after={
            "scope": scope,
            "meaning": meaning,
            "failures_in_row": in_row,
            "locked_until": locked_until,
        },
        reason="Wrong password entered for an electronic signature",
        actor=actor,
    )
    message = INVALID_MESSAGE
    if locks:
        assert locked_until is not None
        _notify_admins_of_lock(actor, in_row, locked_until)
        message += f" Signing is now locked until {_local_hhmm(locked_until)} after {in_row} failed attempts."
    db.session.commit()
    raise DomainError("SIGNATURE_INVALID", message, 403)


def _refuse_locked(
    actor: Actor,
    scope: str,
    entity_type: str,
    entity_id: Any,
    meaning: str,
    state: LockState,
    now: dt.datetime,
) -> None:
    db.session.rollback()
    assert state.locked_until is not None
    audit.record(
        entity_type,
        entity_id,
        "SIGNATURE_REFUSED_LOCKED",
        after={"scope": scope, "meaning": meaning, "locked_until": state.locked_until},
        reason="Signing is locked after repeated wrong passwords",
        actor=actor,
    )
    db.session.commit()
    raise DomainError(
        "SIGNATURE_LOCKED",
        "Signing is locked after repeated wrong passwords. "
        f"The signature was not applied; try again at {_local_hhmm(state.locked_until)}.",
        423,
        {"lockedUntil": state.locked_until.astimezone(dt.UTC).isoformat()},
    )


def _notify_admins_of_lock(actor: Actor, failures: int, locked_until: dt.datetime) -> None:
    from app.notifications.service import notify

    notify(
        "SIGNATURE_LOCKED",
        f"Signing locked for {actor.printed_name}",
        f"{actor.printed_name} ({actor.username}) entered a wrong password {failures} times in a row "
        f"when signing. Signing is locked for this user until {fmt_local(locked_until)}. "
        "If this was not them, check the account.",
        roles=("Admin",),
        entity_type="User",
        entity_id=actor.user_id,
    )


# --- manifestation --------------------------------------------------------------------------------
def manifestation(sig: ESignature) -> dict[str, Any]:
    """What a signed record shows: printed name, date and time in UTC and local, and meaning."""
    at: dt.datetime | None = sig.signed_at  # type: ignore[assignment]
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return {
        "signature_id": sig.id,
        "scope": sig.scope,
        "printed_name": sig.signer_name,
        "roles": sig.signer_roles,
        "meaning": sig.meaning,
        "comment": sig.comment,
        "signed_at_utc": at.astimezone(dt.UTC).isoformat() if at else None,
        "utc_text": fmt_utc(at),
        "local_text": fmt_local(at),
        "timezone": current_app.config["SITE_TIMEZONE"],
    }

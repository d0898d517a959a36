"""Audit of sign-ins and of security changes (users' roles, roles' permissions).

Rules:
- Every sign-in attempt, page or API, leaves an audit row: LOGIN, or LOGIN_FAILED with the name
  that was typed; responses stay the same for unknown users and wrong passwords.
- Every change of a user's roles and of a role's permissions made by a person (FAB's security pages
  and APIs) is audited with before/after in the same transaction as the change. A session event
  sees every path that writes those association tables, so no view can forget it. Set-up commands
  outside a request (`flask rp sync-perms`, seeds) write their own audit rows.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import has_request_context, request
from flask_appbuilder.security.sqla.models import Role, User
from sqlalchemy import event
from sqlalchemy.orm import Session, attributes

from app.audit import service as audit
from app.core.actor import Actor, actor_from_user

log = logging.getLogger(__name__)

ANONYMOUS_NAME = "Not signed in"


def _channel() -> str:
    return "api" if has_request_context() and request.path.startswith("/api/") else "page"


class AuditedLoginMixin:
    """Mix into the security manager: audit each database sign-in attempt and each sign-out."""

    def auth_user_db(self, username, password):
        user = super().auth_user_db(username, password)  # type: ignore[misc]
        try:
            _record_login(self, username, user)
        except Exception:  # never turn a sign-in into an error page; the log keeps the reason
            log.exception("could not audit a sign-in attempt")
            self.session.rollback()  # type: ignore[attr-defined]
        return user

    def on_user_logout(self, user) -> None:
        super().on_user_logout(user)  # type: ignore[misc]
        if user is not None and getattr(user, "id", None) is not None:
            audit.record(
                "User", user.id, "LOGOUT", after={"channel": _channel()}, actor=actor_from_user(user)
            )
            self.session.commit()  # type: ignore[attr-defined]


def _record_login(sm, username: Any, user) -> None:
    if user:
        audit.record("User", user.id, "LOGIN", after={"channel": _channel()}, actor=actor_from_user(user))
    else:
        typed = str(username or "")[:64]
        known = (sm.find_user(username=typed) or sm.find_user(email=typed)) if typed else None
        audit.record(
            "User",
            known.id if known else None,
            "LOGIN_FAILED",
            after={"username": typed, "channel": _channel()},
            actor=Actor(user_id=None, username=typed or "?", printed_name=ANONYMOUS_NAME),
        )
    sm.session.commit()


# --- security changes -----------------------------------------------------------------------------
def _role_names(roles) -> list[str]:
    return sorted(r.name for r in roles if r is not None)


def _perm_names(pvms) -> list[str]:
    return sorted(f"{p.permission.name} on {p.view_menu.name}" for p in pvms if p is not None)


def _collection_change(obj, key: str) -> tuple[list, list] | None:
    """(before, after) members of a relationship collection changed in this flush, else None."""
    history = attributes.get_history(obj, key, passive=attributes.PASSIVE_NO_INITIALIZE)
    if not history.added and not history.deleted:
        return None
    unchanged = list(history.unchanged or ())
    return unchanged + list(history.deleted or ()), unchanged + list(history.added or ())


def _audit_user(user: User, state: str) -> None:
    if state == "new":
        audit.record(
            "User",
            user.id,
            "CREATE",
            after={"username": user.username, "active": user.active, "roles": _role_names(user.roles)},
        )
    elif state == "deleted":
        audit.record(
            "User", user.id, "DELETE", before={"username": user.username, "roles": _role_names(user.roles)}
        )
    else:
        change = _collection_change(user, "roles")
        if change:
            before, after = (_role_names(x) for x in change)
            audit.record("User", user.id, "ROLES_CHANGED", before={"roles": before}, after={"roles": after})
        names = {k: attributes.get_history(user, k) for k in ("first_name", "last_name")}
        if any(h.added and h.deleted and h.added[0] != h.deleted[0] for h in names.values()):
            # The printed name on signatures and records: who changed it and from what is kept.
            audit.record(
                "User",
                user.id,
                "NAME_CHANGED",
                before={k: (h.deleted[0] if h.deleted else getattr(user, k)) for k, h in names.items()},
                after={k: getattr(user, k) for k in names},
            )
        active = attributes.get_history(user, "active")
        if active.added and active.deleted and active.added[0] != active.deleted[0]:
            audit.record(
                "User",
                user.id,
                "ACTIVATED" if active.added[0] else "DEACTIVATED",
                before={"active": active.deleted[0]},
                after={"active": active.added[0]},
            )


def _audit_role(role: Role, state: str) -> None:
    if state == "new":
        audit.record(
            "Role", role.id, "CREATE", after={"name": role.name, "permissions": _perm_names(role.permissions)}
        )
    elif state == "deleted":
        audit.record(
            "Role",
            role.id,
            "DELETE",
            before={"name": role.name, "permissions": _perm_names(role.permissions)},
        )
    else:
        change = _collection_change(role, "permissions")
        if change:
            before, after = (set(_perm_names(x)) for x in change)
            audit.record(
                "Role",
                role.id,
                "PERMISSIONS_CHANGED",
                before={"name": role.name, "removed": sorted(before - after)},
                after={"name": role.name, "added": sorted(after - before)},
            )


@event.listens_for(Session, "after_flush")
def _audit_security_changes(session: Session, flush_context) -> None:
    """Ids exist after the flush and the pre-flush history is still readable here."""
    if not has_request_context():
        return
    for state, objects in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in list(objects):
            if isinstance(obj, User):
                _audit_user(obj, state)
            elif isinstance(obj, Role):
                _audit_role(obj, state)

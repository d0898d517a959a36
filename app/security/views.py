"""FAB's user and role pages, readable: names instead of "[]" and "True", and what a role may do in
business words (from the role matrix in `security.roles`) instead of a wall of FAB view permissions.
"""

from __future__ import annotations

from typing import Any

from flask_appbuilder.security import views as fab_views
from flask_appbuilder.security.sqla.models import Role
from markupsafe import Markup, escape

from app.audit.labels import words
from app.core.web import fmt_local
from app.security.roles import MATRIX, ROLE_DESCRIPTIONS

# What FAB's method names mean to people.
ACT_WORDS = {"can_read": "see", "can_write": "change", "can_create": "create", "can_delete": "delete"}


def act_words(permission: str) -> str:
    return ACT_WORDS.get(permission) or words(permission.removeprefix("can_")).lower()


def business_permissions(role_name: str) -> list[tuple[str, str]]:
    """(resource in words, acts in words) for one role, from the role matrix; Admin holds everything."""
    grants = MATRIX.get(role_name)
    if grants is None:
        return [("Everything", "configuration, users and roles")] if role_name == "Admin" else []
    return [
        (words(resource), ", ".join(act_words(p) for p in acts)) for resource, acts in sorted(grants.items())
    ]


def _role_summary(role: Any) -> Markup:
    items = business_permissions(role.name)
    if not items:
        return Markup('<span class="text-muted">No business permissions (FAB permissions only)</span>')
    return Markup("; ".join(f"<strong>{escape(r)}</strong>: {escape(a)}" for r, a in items))


def _role_description(role: Any) -> str:
    return ROLE_DESCRIPTIONS.get(role.name, "")


# FAB's list widget reads columns with getattr; these read-only properties give the role pages
# their business words without a copy of FAB's templates.
Role.what_it_may_do = property(_role_summary)  # type: ignore[attr-defined]
Role.description_text = property(_role_description)  # type: ignore[attr-defined]


def _roles_text(roles: Any) -> str:
    names = [r.name for r in roles or []]
    return ", ".join(sorted(names)) or "No role"


class UserDBModelView(fab_views.UserDBModelView):
    # Same class name as FAB's: endpoints and permission names ("can_list on UserDBModelView") stay.
    list_columns = ["first_name", "last_name", "username", "email", "roles", "active", "last_login"]
    label_columns = {
        **fab_views.UserDBModelView.label_columns,
        "active": "Account",
        "roles": "Roles",
        "last_login": "Last sign-in",
    }
    formatters_columns = {
        "active": lambda v: "Active" if v else "Disabled",
        "roles": _roles_text,
        "last_login": lambda v: fmt_local(v) if v else "Never",
    }


class RoleModelView(fab_views.RoleModelView):
    list_columns = ["name", "description_text", "what_it_may_do"]
    show_columns = ["name", "description_text", "what_it_may_do", "permissions"]
    search_columns = ["name"]  # FAB's search form would list every technical permission
    label_columns = {
        **fab_views.RoleModelView.label_columns,
        "description_text": "Who holds it",
        "what_it_may_do": "What it may do",
        "permissions": "Technical permissions (FAB)",
    }

"""Make the database's roles and permissions match `roles.MATRIX` (idempotent).

Run after `flask db upgrade` (the demo launcher and the test fixtures do). Each change of a role's
permissions is written to the audit trail.
"""

from __future__ import annotations

from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from sqlalchemy import select

from app.security.roles import ADMIN_EXCLUDED, COMMON, MATRIX, ROLES


def _menu_grants(appbuilder, perms: dict[str, tuple[str, ...]]) -> set[str]:
    """Menu entries a role sees: those whose view it may use (and their categories); a link whose
    baseview names a `menu_permission` only for roles holding that permission on the resource."""
    names: set[str] = set()
    for category in appbuilder.menu.get_list():
        for item in category.childs or [category]:
            view = getattr(item, "baseview", None)
            resource = getattr(view, "class_permission_name", None)
            # A link may ask for one permission of its resource (e.g. "New order": can_create on Order).
            needed = getattr(view, "menu_permission", None)
            if resource and resource in perms and (needed is None or needed in perms[resource]):
                names.add(item.name)
                if item is not category:
                    names.add(category.name)
    return names


def desired_permissions(appbuilder, role: str) -> set[tuple[str, str]]:
    perms = {**COMMON, **MATRIX.get(role, {})}
    wanted = {(p, resource) for resource, names in perms.items() for p in names}
    # Menus follow the role's business resources only: COMMON's self-service pages (user info,
    # own password) would otherwise open FAB's whole "Security" menu to every role.
    wanted |= {("menu_access", name) for name in _menu_grants(appbuilder, MATRIX.get(role, {}))}
    return wanted


def sync_roles(appbuilder) -> dict[str, int]:
    """Create missing permissions and roles; grant and revoke so each role equals the matrix."""
    from app.audit import service as audit
    from app.core.actor import SYSTEM

    sm = appbuilder.sm
    session = sm.session
    # FAB grants every new permission to Admin as it creates it; with no Admin role yet it fails
    # (and only logs) after the first permission of each view, so roles must exist first.
    for role_name in ROLES:
        sm.find_role(role_name) or sm.add_role(role_name)
    appbuilder.add_permissions(update_perms=True)  # creates what views and menus declare, grants nothing
    all_pvms = session.query(sm.permissionview_model).all()
    existing = {(pv.permission.name, pv.view_menu.name): pv for pv in all_pvms}
    declared = sm.declared_permissions()
    changed: dict[str, int] = {}
    # Admin last: it gets every permission, including those the matrix creates for other roles.
    for role_name in sorted(ROLES, key=lambda name: name == "Admin"):
        role = sm.find_role(role_name) or sm.add_role(role_name)
        if role_name == "Admin":
            wanted_pvms = {
                pv for key, pv in existing.items() if key in declared and key not in ADMIN_EXCLUDED
            }
        else:
            wanted = desired_permissions(appbuilder, role_name)
            wanted_pvms = set()
            for key in sorted(wanted):
                pv = existing.get(key)
                if pv is None:
                    # A resource no view declares yet (e.g. a business act checked in a service).
                    pv = sm.add_permission_view_menu(*key)
                    existing[key] = pv
                wanted_pvms.add(pv)
        current = set(role.permissions)
        added, removed = wanted_pvms - current, current - wanted_pvms
        if added or removed:
            role.permissions = sorted(wanted_pvms, key=lambda pv: pv.id or 0)
            audit.record(
                "Role",
                role.id,
                "ROLE_PERMISSIONS_SYNC",
                after={
                    "added": sorted(f"{p.permission.name} on {p.view_menu.name}" for p in added),
                    "removed": sorted(f"{p.permission.name} on {p.view_menu.name}" for p in removed),
                },
                reason="Role matrix synchronised from app/security/roles.py",
                actor=SYSTEM,
            )
            changed[role_name] = len(added) + len(removed)
    session.flush()
    # What nothing declares any more (a removed view's permissions) is off the matrix's roles now;
    # it goes unless a role made outside the matrix (FAB's role pages) still holds it.
    held = set(session.scalars(select(assoc_permissionview_role.c.permission_view_id)))
    for key, pv in existing.items():
        if key not in declared and pv.id not in held:
            session.delete(pv)
    session.commit()
    return changed

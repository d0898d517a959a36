"""`flask rp sync-perms` with views that share one permission name (issue 16 follow-up)."""

from __future__ import annotations

import logging


def test_sync_keeps_every_view_s_permissions_and_warns_about_none(app_ctx, db_session, caplog):
    from app.security.sync import sync_roles

    appbuilder = app_ctx.appbuilder
    sm = appbuilder.sm
    shared: dict[str, set[str]] = {}
    for view in appbuilder.baseviews:
        if view.class_permission_name and view.base_permissions:
            shared.setdefault(view.class_permission_name, set()).update(view.base_permissions)
    # the case this is about: one permission name, views with different methods
    assert any(
        len(
            {
                frozenset(v.base_permissions or ())
                for v in appbuilder.baseviews
                if v.class_permission_name == n
            }
        )
        > 1
        for n in shared
    )
    with caplog.at_level(logging.WARNING):
        sync_roles(appbuilder)
        sync_roles(appbuilder)  # a second run finds everything in place and changes nothing
    assert not [r for r in caplog.records if "Refused to delete" in r.getMessage()]
    for name, permissions in shared.items():
        view_menu = sm.find_view_menu(name)
        held = {pv.permission.name for pv in sm.find_permissions_view_menu(view_menu)}
        assert permissions <= held, (name, permissions - held)
    assert sync_roles(appbuilder) == {}


def test_sync_never_hands_admin_an_excluded_act(app_ctx, db_session):
    """FAB granted Admin every permission a view declared, the QP's release among them, until the
    matrix took it back: each sync wrote an audit row of Admin losing seven acts."""
    from sqlalchemy import text

    from app.security.roles import ADMIN_EXCLUDED
    from app.security.sync import sync_roles

    sm = app_ctx.appbuilder.sm
    before = db_session.execute(text("SELECT count(*) FROM audit_log")).scalar()
    assert sync_roles(app_ctx.appbuilder) == {}
    assert db_session.execute(text("SELECT count(*) FROM audit_log")).scalar() == before
    admin = {(pv.permission.name, pv.view_menu.name) for pv in sm.find_role("Admin").permissions}
    assert not admin & ADMIN_EXCLUDED
    assert ("can_release", "Batch") in {
        (pv.permission.name, pv.view_menu.name) for pv in sm.find_role("QP").permissions
    }


def test_sync_drops_a_permission_nothing_declares(app_ctx, db_session):
    from app.security.sync import sync_roles

    sm = app_ctx.appbuilder.sm
    stale = sm.add_permission_view_menu("can_frobnicate", "RemovedView")
    admin = sm.find_role("Admin")
    sm.add_permission_role(admin, stale)
    assert sync_roles(app_ctx.appbuilder) == {"Admin": 1}
    assert sm.find_permission_view_menu("can_frobnicate", "RemovedView") is None
    assert stale not in sm.find_role("Admin").permissions


def test_sync_keeps_a_permission_a_role_made_outside_the_matrix_holds(app_ctx, db_session):
    from app.security.sync import sync_roles

    sm = app_ctx.appbuilder.sm
    stale = sm.add_permission_view_menu("can_frobnicate", "RemovedView")
    custom = sm.add_role("Site auditor (custom)")
    sm.add_permission_role(custom, stale)
    sync_roles(app_ctx.appbuilder)
    assert sm.find_permission_view_menu("can_frobnicate", "RemovedView") is not None

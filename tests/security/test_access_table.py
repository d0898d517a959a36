"""Roles do what the role table says (issue 14 section 6): every page and API operation, for every
role, against one expected table kept in the repository (tests/security/expected_access.py).

The table lists, per endpoint ("METHODS /rule"), the roles that may call it. It was generated once
from the permissions the app grants, then read row by row against the role table of the requirements
(Admin configures but does not enter QC data, deviations are opened by Production and QC and closed by
the QC Manager and the QP ...). Any change in who may do what fails here until the table is changed in
the same commit, so a permission never moves silently.

RP_WRITE_EXPECTED_ACCESS=1 rewrites the table from the running app (review the diff before committing).
"""

from __future__ import annotations

import os
import pprint
from pathlib import Path

from sqlalchemy import text

from app.security.roles import ROLES
from tests.security.test_security_endpoints import PUBLIC

TABLE = Path(__file__).with_name("expected_access.py")


def _permission_of(app, rule) -> tuple[str, str] | None:
    """(permission, view) that FAB checks for this endpoint, or None for an unguarded one."""
    func = app.view_functions.get(rule.endpoint)
    view = getattr(func, "__self__", None)
    if view is None or not hasattr(view, "get_method_permission"):
        return None
    method = getattr(func, "__name__", rule.endpoint.rsplit(".", 1)[-1])
    try:
        name = view.get_method_permission(method)
    except AttributeError:
        return None
    if not name:
        return None
    prefix = "can_" if not str(name).startswith("can_") else ""
    return f"{prefix}{name}", view.class_permission_name


def _grants(app) -> dict[str, set[tuple[str, str]]]:
    from app.core.extensions import db

    with app.app_context():
        rows = db.session.execute(
            text(
                "SELECT r.name, p.name, v.name FROM ab_role r "
                "JOIN ab_permission_view_role pvr ON pvr.role_id = r.id "
                "JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id "
                "JOIN ab_permission p ON p.id = pv.permission_id "
                "JOIN ab_view_menu v ON v.id = pv.view_menu_id"
            )
        ).all()
    out: dict[str, set[tuple[str, str]]] = {role: set() for role in ROLES}
    for role, perm, view in rows:
        out.setdefault(role, set()).add((perm, view))
    return out


def actual_access(app) -> dict[str, tuple[str, ...]]:
    grants = _grants(app)
    table: dict[str, tuple[str, ...]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods or ()))):
        if rule.endpoint in PUBLIC or rule.endpoint.endswith("static"):
            continue
        needed = _permission_of(app, rule)
        if needed is None:
            continue
        methods = ",".join(sorted(m for m in (rule.methods or ()) if m not in ("HEAD", "OPTIONS")))
        table[f"{methods} {rule.rule}"] = tuple(sorted(r for r in ROLES if needed in grants.get(r, set())))
    return table


def test_every_endpoint_and_role_matches_the_expected_table(app):
    actual = actual_access(app)
    if os.environ.get("RP_WRITE_EXPECTED_ACCESS"):
        TABLE.write_text(
            '"""Who may call each page and API operation (generated, then reviewed: see test_access_table.py)."""\n\n'
            "EXPECTED = " + pprint.pformat(actual, width=110, sort_dicts=True) + "\n"
        )
    from tests.security.expected_access import EXPECTED

    changed = {
        k: (EXPECTED.get(k), actual.get(k))
        for k in set(EXPECTED) | set(actual)
        if EXPECTED.get(k) != actual.get(k)
    }
    assert not changed, "access changed (expected, actual):\n" + pprint.pformat(changed, width=110)


def test_the_table_keeps_the_role_table_rules():
    """Rows a reviewer checked against the requirements' role table."""
    from tests.security.expected_access import EXPECTED

    def who(key: str) -> set[str]:
        return set(EXPECTED[key])

    # Admin is configuration, users and roles: no QC data (results, samples, attachments, submission,
    # review), no deviations, no QP decision.
    qc_data = [
        "POST /batches/<int:batch_id>/qc/save",
        "POST /batches/<int:batch_id>/qc/samples",
        "POST /batches/<int:batch_id>/qc/rows/<int:result_id>/attachments",
        "POST /batches/<int:batch_id>/qc/review",
        "PUT /api/v1/batches/<int:batch_id>/qc-results/<int:result_id>",
        "POST /api/v1/batches/<int:batch_id>/qc-samples",
        "POST /api/v1/batches/<int:batch_id>/qc-session/submit",
        "POST /api/v1/batches/<int:batch_id>/qc-session/review",
        "POST /api/v1/batches/<int:pk>/disposition",
    ]
    for key in qc_data:
        assert "Admin" not in who(key), key
    assert who("POST /api/v1/batches/<int:pk>/deviations") == {
        "Production",
        "QC Analyst",
        "QC Manager",
        "QC Reviewer",
    }
    assert who("POST /api/v1/batches/<int:pk>/deviations/<int:deviation_id>/close") == {"QC Manager", "QP"}
    assert who("POST /api/v1/batches/<int:pk>/disposition") == {"QP"}
    assert "QC Analyst" not in who("POST /api/v1/batches/<int:batch_id>/qc-session/review")
    assert all("Customer" not in who(k) for k in EXPECTED if k.split(" ", 1)[1].startswith("/audit"))
    assert all("Customer" not in who(k) for k in EXPECTED if k.split(" ", 1)[1].startswith("/release"))

"""Roles do what the role table says; hospitals see customer-facing milestones only (issue 14)."""

from __future__ import annotations

from app.security.roles import ADMIN_EXCLUDED
from tests.batch_factories import new_batch
from tests.conftest import login_page

# One expected table for the acts the issue names: role -> may do it.
EXPECTED = {
    ("can_enter", "QcSession"): {"QC Analyst", "QC Manager"},
    ("can_open_deviation", "Batch"): {"Production", "QC Analyst", "QC Reviewer", "QC Manager"},
    ("can_close_deviation", "Batch"): {"QC Manager", "QP"},
    ("can_attach_template", "QcSession"): {"QC Manager", "Admin"},  # configuration: the active template
    ("can_this_form_post", "UserInfoEditView"): set(),
}


def test_role_grants_match_the_expected_table(app_ctx):
    sm = app_ctx.appbuilder.sm
    for role in sm.get_all_roles():
        granted = {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
        for perm, roles in EXPECTED.items():
            assert (perm in granted) == (role.name in roles), (role.name, perm)
    assert ("can_enter", "QcSession") in ADMIN_EXCLUDED


def test_admin_cannot_enter_qc_or_open_deviations_and_planner_cannot_open(app_ctx, api):
    batch = new_batch()
    r = api("admin").put(f"/api/v1/batches/{batch.id}/qc-results/1", json={"numeric_value": 1})
    assert r.status_code == 403
    r = api("admin").post(f"/api/v1/batches/{batch.id}/qc-samples", json={"sample_type": "RETENTION"})
    assert r.status_code == 403
    for user in ("admin", "planner", "disp", "logi", "qp"):
        r = api(user).post(f"/api/v1/batches/{batch.id}/deviations", json={"reason": "x"})
        assert r.status_code == 403, user


def test_users_cannot_edit_their_own_name(client):
    login_page(client, "qc")
    r = client.get("/users/userinfoedit/")
    assert r.status_code in (302, 403, 404)
    r = client.post("/users/userinfoedit/", data={"first_name": "X", "last_name": "Y"})
    assert r.status_code in (302, 403, 404)
    from app.core.extensions import db

    user = client.application.appbuilder.sm.find_user(username="qc")
    db.session.refresh(user)
    assert (user.first_name, user.last_name) == ("Yusuf", "Karim")


def test_hospital_sees_only_customer_milestones_everywhere(app_ctx, api, client):
    from app.batches import customer_view

    events = [
        {"id": 1, "event_type": "STATUS_CHANGE", "to_status": "PLANNED", "occurred_at": None, "note": "x"},
        {"id": 2, "event_type": "QC", "to_status": None, "occurred_at": None, "note": "OOS 91.2 < 95"},
        {
            "id": 3,
            "event_type": "STATUS_CHANGE",
            "to_status": "IN_PRODUCTION",
            "occurred_at": None,
            "note": "elution yield 78 %",
        },
        {
            "id": 4,
            "event_type": "STATUS_CHANGE",
            "to_status": "ON_HOLD",
            "occurred_at": None,
            "note": "deviation reason",
        },
    ]
    shown = customer_view.customer_events(events)
    assert [e["to_status"] for e in shown] == ["PLANNED", "ON_HOLD"]
    assert all(e["actor"]["name"] == "RadioPharma" for e in shown)
    assert "deviation reason" not in str(shown) and "78 %" not in str(shown)

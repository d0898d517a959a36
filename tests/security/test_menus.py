"""Menus follow the role matrix: each role sees the areas it works in, nothing of FAB's security UI."""

from __future__ import annotations

import pytest

from tests.conftest import login_page


@pytest.mark.parametrize("username", ["hospital", "qp", "prod", "auditor"])
def test_non_admin_roles_do_not_see_the_security_menu(client, username):
    html = login_page(client, username).get("/batches/").get_data(as_text=True)
    assert "List Users" not in html and "List Roles" not in html


def test_admin_sees_the_security_menu(client):
    html = login_page(client, "admin").get("/batches/").get_data(as_text=True)
    assert "List Users" in html and "List Roles" in html
    for internal in ('href="/material-lots/', 'href="/audit/', 'href="/release/'):
        assert internal in html, internal


def test_hospital_menu_has_batches_but_no_master_data_or_quality(client):
    html = login_page(client, "hospital").get("/batches/").get_data(as_text=True)
    assert "All batches" in html
    for internal in ('href="/material-lots/', 'href="/audit/', 'href="/release/', 'href="/qc/'):
        assert internal not in html, internal

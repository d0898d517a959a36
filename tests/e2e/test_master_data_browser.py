"""An administrator signs in with the real login form and opens a master-data list."""

from __future__ import annotations

from tests.e2e.conftest import login, shot


def test_admin_signs_in_and_sees_the_products_list(page, base_url):
    login(page, base_url, "admin")
    assert page.locator("h1", has_text="Your work").count() == 1  # the home page is the role's work

    page.get_by_role("link", name="Master data").first.click()
    with page.expect_navigation():
        page.get_by_role("link", name="Products").first.click()
    assert page.url.endswith("/products/list/")

    path = shot(page, "e2e-master-data-products")
    assert path.stat().st_size > 10_000
    fdg = page.get_by_role("row").filter(has_text="FDG")
    assert fdg.count() == 1
    assert "F-18" in fdg.inner_text()

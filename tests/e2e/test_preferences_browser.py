"""A planner chooses mCi on My preferences; the choice is saved and shown checked."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import login, shot


def test_planner_chooses_mci_on_my_preferences(page, base_url, committed):
    login(page, base_url, "planner")
    page.goto(f"{base_url}/preferences/")
    expect(page.locator("h1")).to_have_text("My preferences")
    page.check("#unit-mci")
    with page.expect_navigation():
        page.click("#save-preferences")
    expect(page.locator(".alert-success")).to_contain_text("saved")
    expect(page.locator("#unit-mci")).to_be_checked()
    shot(page, "e2e-my-preferences")

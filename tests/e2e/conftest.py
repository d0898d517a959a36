"""Browser tests: Debian's chromium driven by Playwright against the app served in a thread.

- `base_url` is a live werkzeug server on 127.0.0.1 and a free port serving the session `app`
  (tests/conftest.py), so `page.goto("/login/")` works. The server runs in another thread, so it
  sees only committed data: every browser test runs with the `committed` fixture, which empties the
  business tables afterwards.
- Chromium is /usr/bin/chromium (`.ci/run` installs it with apt-get); Playwright's own browser
  download is never used. Without chromium the tests are skipped locally and fail under CI=true.
- `login(page, base_url, username)` signs in through the real login form.
- `shot(page, name)` saves a full-page screenshot to test-artifacts/<name>.png (git-ignored).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, DEMO_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`, as .ci/run does)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_server(app):
    """The test app served by werkzeug in a daemon thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server


@pytest.fixture(autouse=True)
def _committed_data(committed):
    """Browser tests see only committed rows; business tables are emptied after each test."""
    yield committed


@pytest.fixture(scope="session", autouse=True)
def _artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)


def login(page, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through FAB's login form and wait for the landing page."""
    page.goto(f"{base_url}/login/")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("input[type=submit]")
    if "/login/" in page.url:
        raise AssertionError(f"login as {username} failed: still on {page.url}")


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png and return its path."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_completion_dialog(page, base_url: str, unit: str, viewport: tuple[int, int] | None = None):
    """A batch in production, its journey opened by a production operator who reads `unit`, the
    complete-production dialog open with its checklist ticked: (batch, dialog)."""
    from playwright.sync_api import expect

    from app.core.extensions import db
    from tests.activity_unit_factories import prefer
    from tests.batch_page_factories import journey

    if viewport is not None:
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    batch = journey("IN_PRODUCTION")
    prefer("prod", unit)
    db.session.commit()
    login(page, base_url, "prod")
    page.goto(f"{base_url}/batches/{batch.id}")
    page.locator(".rp-next-button").click()
    dialog = page.locator("#rp-action-dialog")
    expect(dialog).to_be_visible()
    for box in dialog.locator("input[name=checklist]").all():
        box.check()
    return batch, dialog

"""Each role's first screen shows its work, through the same query as the part's own page."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.batches import queries as batch_queries
from app.batches.filters import ListQuery
from app.home import sections
from app.release import review
from tests.batch_factories import actor, batch_in, new_batch
from tests.conftest import login_page

NOW = dt.datetime.now(dt.UTC)


def home(client, username: str) -> str:
    login_page(client, username)
    r = client.get("/")
    assert r.status_code == 200, r.data[:300]
    return r.get_data(as_text=True)


def section_html(html: str, key: str) -> str:
    m = re.search(rf'data-section="{key}">(.*?)</section>', html, re.S)
    assert m, f"section {key} missing"
    return m.group(1)


@pytest.mark.parametrize(
    ("username", "keys"),
    [
        ("planner", ["windows", "to_validate", "to_plan", "planned"]),
        ("prod", ["to_start", "in_production", "deviations"]),
        ("qc", ["entry", "after_release"]),
        ("qcreview", ["review"]),
        ("qcmanager", ["drafts", "oos", "review"]),
        ("qp", ["release"]),
        ("disp", ["to_dispense"]),
        ("logi", ["shipments", "to_ship", "unconfirmed"]),
        ("hospital", ["holds", "open_orders", "deliveries", "my_batches"]),
        ("auditor", ["audit"]),
        ("admin", ["problems", "audit"]),
    ],
)
def test_every_role_lands_on_its_own_work(client, app_ctx, username, keys):
    html = home(client, username)
    assert "Good day" not in html
    assert re.findall(r'data-section="([a-z_]+)"', html) == keys


def test_production_sees_a_batch_to_start_with_its_next_action(client, app_ctx):
    batch = new_batch(start=NOW + dt.timedelta(hours=3))
    html = section_html(home(client, "prod"), "to_start")
    assert batch.batch_no in html
    assert "Start production" in html
    assert f"/batches/{batch.id}" in html


def test_a_late_batch_is_marked(client, app_ctx):
    batch = new_batch(start=NOW - dt.timedelta(minutes=30))
    html = section_html(home(client, "prod"), "to_start")
    assert batch.batch_no in html and "Planned start has passed" in html


def test_a_batch_late_since_before_local_midnight_is_still_to_start(client, app_ctx):
    """At 00:15 site time a batch planned for 23:30 the day before and not started is the most
    urgent item: it stays on the list (within a day), marked late; one late by more is not listed."""
    tz = sections.site_tz()
    midnight = dt.datetime.combine(NOW.astimezone(tz).date(), dt.time(0), tz).astimezone(dt.UTC)
    at = midnight + dt.timedelta(minutes=15)
    late = new_batch(start=midnight - dt.timedelta(minutes=30))
    stale = new_batch(start=midnight - dt.timedelta(hours=30))
    shown = {item.title for item in sections.production_to_start(actor("Production"), at).items}
    assert any(late.batch_no in title for title in shown), shown
    assert not any(stale.batch_no in title for title in shown), shown


def test_production_list_is_the_batch_list_query(app_ctx):
    new_batch(start=NOW + dt.timedelta(hours=1))
    new_batch(start=NOW + dt.timedelta(hours=2))
    who = actor("Production")
    _, end = sections._local_day_bounds(NOW, days=2)
    start = NOW - sections.LATE_WINDOW
    expected = batch_queries.list_batches(
        ListQuery(statuses=("PLANNED", "SCHEDULED"), date_from=start, date_to=end, page_size=50), who
    )["total"]
    assert sections.production_to_start(who, NOW).total == expected >= 2


def test_qp_queue_counts_exceptions_and_shelf_life_like_the_release_queue(client, app_ctx):
    batch = batch_in("QP_REVIEW")
    html = section_html(home(client, "qp"), "release")
    assert batch.batch_no in html and "Review" in html
    assert re.search(r"no exceptions|\d+ exceptions?", html)
    assert sections.qp_release_queue(actor("QP"), NOW).total == len(review.queue(NOW))


def test_empty_sections_say_so_honestly(client, app_ctx):
    html = section_html(home(client, "qcreview"), "review")
    assert "rp-home-item" not in html
    assert "No QC session is waiting for review." in html


def test_hospital_home_shows_only_its_own_batches(client, app_ctx):
    theirs = new_batch(customer_codes=["KFSH"], hot_cell_code="HC-1")
    other = new_batch()
    html = section_html(home(client, "hospital"), "my_batches")
    mine = batch_queries.list_batches(ListQuery(page_size=50), actor("Customer"))
    ids = {b["id"] for b in mine["items"]}
    assert other.id not in ids
    assert other.batch_no not in html
    assert theirs.id in ids and theirs.batch_no in html
    assert "Hot cell" not in html  # an internal detail


# --- the order side ------------------------------------------------------------------------------------
def test_hospital_sees_its_hold_with_the_time_left_and_creates_the_order_from_home(client, app_ctx):
    from tests import order_factories as of

    window = of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))
    held = of.hold(window, 2, now=dt.datetime.now(dt.UTC))
    html = section_html(home(client, "hospital"), "holds")
    assert held.reference in html and "Held for you for" in html
    assert f"/orders/new?reservation_id={held.id}" in html


def test_planner_sees_the_order_waiting_for_validation_and_the_validated_pool(client, app_ctx):
    from tests import order_factories as of

    window = of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))
    submitted = of.order_from_hold(window, 2, ref="KF-HOME-1", now=dt.datetime.now(dt.UTC))
    validated = of.validated_order(window, 2, ref="KF-HOME-2", now=dt.datetime.now(dt.UTC))
    html = home(client, "planner")
    assert submitted.order_no in section_html(html, "to_validate")
    assert validated.order_no in section_html(html, "to_plan")
    assert "Plan a batch" in section_html(html, "to_plan")


def test_dispensing_queue_shows_dose_progress_and_opens_the_dispensing_screen(client, app_ctx):
    from tests.batch_page_factories import journey

    batch = journey("RELEASED")
    html = section_html(home(client, "disp"), "to_dispense")
    assert batch.batch_no in html
    assert "No dose planned yet" in html or "doses dispensed" in html
    assert f"/dispensing/batches/{batch.id}" in html


def test_the_auditors_home_names_records_and_actions_in_words(client, app_ctx):
    text = re.sub(r"<[^>]+>", " ", section_html(home(client, "auditor"), "audit"))  # what people read
    assert "Hash chain" in text
    assert "QpProductAuthorisation" not in text and "STATUS_CHANGE" not in text

"""Chromium: a logistics user who reads mCi sees the shipment in mCi; a planner who reads mCi sees the
KPI tables in mCi and the yield chart's tooltip names the activities in mCi; a QC analyst who reads
mCi types the half-life calculator's readings in mCi (issue 13 item 8)."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from sqlalchemy import update

from app.batches.models import Batch
from app.core.extensions import db
from app.kpis import service as kpis
from tests.activity_unit_factories import packed_shipment, prefer
from tests.batch_factories import new_batch
from tests.conftest import ARTIFACTS
from tests.e2e.conftest import login, shot
from tests.qc_factories import make_batch


def test_shipment_page_in_mci(page, base_url):
    s, _doses, _package = packed_shipment()
    prefer("logi", "mCi")
    db.session.commit()
    login(page, base_url, "logi")
    page.goto(f"{base_url}/logistics/shipments/{s.id}")
    table = page.locator(".panel table")
    expect(table).to_contain_text("10.00 mCi")
    expect(table).to_contain_text("20.00 mCi")
    expect(page.locator(".rp-pack-form")).to_contain_text("15.00 mCi")
    assert "MBq" not in page.locator(".rp-page").inner_text()
    shot(page, "e2e-shipment-in-mci")


def test_kpi_yield_table_and_chart_tooltip_in_mci(page, base_url):
    eos = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    b = new_batch(planned_activity_mbq=74000)
    db.session.execute(
        update(Batch)
        .where(Batch.id == b.id)
        .values(actual_end_at=eos, planned_end_at=eos, actual_yield_mbq=37000)
    )
    db.session.commit()
    kpis.refresh_facts()
    prefer("planner", "mCi")
    db.session.commit()
    login(page, base_url, "planner")
    page.goto(f"{base_url}/kpis/")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('kpi-yield'))")
    expect(page.locator(".rp-kpi-unit")).to_contain_text("Activities in mCi")
    tip = page.evaluate(
        "() => Chart.getChart(document.getElementById('kpi-yield')).options.plugins.tooltip.callbacks"
        ".afterLabel({dataIndex: 0})"
    )
    assert tip == "actual 1,000.0 mCi of 2,000.0 mCi planned (decay-corrected)"
    panel = page.locator("#kpi-yield").locator("xpath=..")
    expect(panel).to_contain_text("2,000.0 mCi")  # the table under the chart
    panel.scroll_into_view_if_needed()
    page.locator("#kpi-yield").hover()  # the middle of the canvas: over the one bar
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "e2e-kpi-yield-in-mci.png"), clip=panel.bounding_box())


def test_qc_half_life_readings_in_mci(page, base_url):
    batch_id = make_batch("FDG").id
    prefer("qc", "mCi")
    db.session.commit()
    login(page, base_url, "qc")
    page.goto(f"{base_url}/batches/{batch_id}/qc")
    rnid = page.locator(
        "#qc-table tbody tr",
        has=page.locator(".rp-qc-test-name", has_text="Radionuclidic Identity (Half-life)"),
    ).first
    rnid.locator("details.rp-qc-halflife summary").click()
    expect(rnid.locator(".rp-qc-hl-reading .input-group-addon").first).to_have_text("mCi")
    rnid.locator("input[name^=hl_t1_]").fill("2026-11-29T08:00:00")
    rnid.locator("input[name^=hl_a1_]").fill("27.027")  # 1000 MBq
    rnid.locator("input[name^=hl_t2_]").fill("2026-11-29T08:30:00")
    rnid.locator("input[name^=hl_a2_]").fill("22.3628")  # 827.4236 MBq
    rnid.locator(".rp-qc-hl-out", has_text="T½ = 109.8 min").wait_for()
    with page.expect_navigation():
        page.click("#qc-save-draft")
    rnid = page.locator(
        "#qc-table tbody tr",
        has=page.locator(".rp-qc-test-name", has_text="Radionuclidic Identity (Half-life)"),
    ).first
    assert rnid.locator("input[name^=hl_a1_]").input_value() == "27.027"  # shown back as typed
    assert rnid.locator("input[name^=hl_a2_]").input_value() == "22.3628"
    expect(rnid.locator(".rp-qc-hl-out")).to_contain_text("Recorded: T½ = 109.8 min")
    rnid.scroll_into_view_if_needed()
    rnid.screenshot(path=str(ARTIFACTS / "e2e-qc-half-life-in-mci.png"))

"""Chromium: the KPI page draws its charts (with the delivery and OTIF sections on a hand-computed day);
the instrument import page previews a CSV with bad rows and records the good ones; the bell count
changes after an action; Production completes an eBR step on the batch page."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import update

from app.batches import ebr
from app.batches.models import Batch
from app.core.extensions import db
from app.kpis import service as kpis
from tests.batch_factories import actor, forge_state, new_batch
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import login, shot


def _released_batches() -> None:
    eos = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    for i, lead in enumerate((35, 50, 80)):
        b = new_batch(planned_activity_mbq=60000)
        db.session.execute(
            update(Batch)
            .where(Batch.id == b.id)
            .values(
                actual_end_at=eos,
                planned_end_at=eos,
                actual_yield_mbq=50000 + 4000 * i,
                released_at=eos + dt.timedelta(minutes=lead),
            )
        )
    db.session.commit()
    kpis.refresh_facts()


def test_kpi_page_renders_its_charts(page, base_url):
    _released_batches()
    login(page, base_url, "planner")
    page.goto(f"{base_url}/kpis/")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('kpi-lead'))")
    assert page.locator("#kpi-yield").is_visible()
    shot(page, "kpis-page")


def test_bell_count_changes_after_an_action_and_production_completes_an_ebr_step(page, base_url):
    fdg = new_batch().product_id
    draft = ebr.create_draft(
        fdg, "FDG record", [ebr.StepInput("Check the cassette", "Lot matches")], actor("QC Manager")
    )
    ebr.activate(draft.id, DEMO_PASSWORD, actor("QC Manager"))
    batch = forge_state(new_batch(), "IN_PRODUCTION")
    db.session.commit()
    login(page, base_url, "qc")
    page.goto(f"{base_url}/notifications/")
    page.locator("form[action$='/read-all'] button").click() if page.locator(
        "form[action$='/read-all']"
    ).count() else None
    assert page.locator("#rp-bell .rp-bell-count").count() == 0
    from app.batches import service as batches
    from app.core.actor import SYSTEM

    done = forge_state(new_batch(), "PRODUCTION_COMPLETE")
    batches.transition_batch(done.id, "QC_PENDING", SYSTEM, "sent to QC")
    page.reload()
    assert page.locator("#rp-bell .rp-bell-count").inner_text() == "1"
    shot(page, "bell-after-qc-pending")

    page.goto(f"{base_url}/logout/")
    login(page, base_url, "prod")
    page.goto(f"{base_url}/batches/{batch.id}?tab=ebr#tabs")
    page.fill("#ebr-step-1 input[name=note]", "cassette lot OK")
    with page.expect_navigation():
        page.click("#ebr-step-1 button[type=submit]:has-text('Done')")
    assert "Step 1 recorded" in page.content()
    assert page.locator("#ebr-step-1 .label-success").count() == 1
    shot(page, "ebr-step-done")


CHARTS = (
    "kpi-minutes",
    "kpi-util",
    "kpi-lead",
    "kpi-handoffs",
    "kpi-yield",
    "kpi-dispensed",
    "kpi-otif",
    "kpi-fp",
)


def test_kpi_page_renders_every_chart_with_delivery_and_otif(page, base_url):
    from app.kpis import queries
    from tests.kpis.test_kpi_delivery import DAY, EOS, _day
    from tests.qc_factories import FDG_PASS, enter, make_batch

    made = _day(db.session)  # one window, five orders, two shipments: OTIF 25 % (tests/kpis)
    db.session.execute(update(Batch).where(Batch.id == made.id).values(planned_activity_mbq=12000))
    qc_batch = make_batch()
    enter(qc_batch.id, {"PH": FDG_PASS["PH"], "RCP": FDG_PASS["RCP"]})
    db.session.commit()
    kpis.refresh_facts(now=EOS + dt.timedelta(days=1))
    assert queries.otif(DAY, DAY)[0]["otif_pct"] == 25

    login(page, base_url, "planner")
    today = dt.datetime.now(ZoneInfo("Asia/Riyadh")).date()  # the site's day (the page's dates are)
    page.goto(f"{base_url}/kpis/?from={DAY}&to={today}")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('kpi-fp'))")
    drawn = page.evaluate(
        "ids => ids.filter(id => Chart.getChart(document.getElementById(id)))", list(CHARTS)
    )
    assert drawn == list(CHARTS), page.locator(".rp-kpi-nodata").all_inner_texts()
    otif = page.locator("#kpi-otif-table tbody tr").first
    assert otif.locator("td").nth(1).inner_text() == "4"  # due: the hospital's cancellation excluded
    assert "25.0 %" in otif.inner_text()
    assert "Asia/Riyadh" in page.locator(".rp-kpi-computed").inner_text()
    assert page.locator(".rp-kpi-nodata").count() == 0
    shot(page, "kpis-page-every-chart")


def test_instrument_import_previews_bad_rows_and_records_the_good_ones(page, base_url):
    from tests.qc_factories import make_batch, results_by_code

    batch = make_batch()
    db.session.commit()
    units = {code: (r.unit or "") for code, r in results_by_code(batch.id).items()}
    at = "2026-03-01 10:00"
    lines = [
        "batch_no,test_code,value,unit,measured_at,instrument_id",
        f"{batch.batch_no},PH,6.2,{units['PH']},{at},PH-METER-1",
        f"{batch.batch_no},RCP,98.4,mg,{at},HPLC-1",
        f"{batch.batch_no},RCP,high,{units['RCP']},{at},HPLC-1",
        f"FDG-NOPE-01,PH,6.0,{units['PH']},{at},PH-METER-1",
    ]
    login(page, base_url, "qc")
    page.goto(f"{base_url}/qc/imports/")
    page.set_input_files(
        "#imp-file",
        files=[{"name": "hplc.csv", "mimeType": "text/csv", "buffer": ("\n".join(lines) + "\n").encode()}],
    )
    with page.expect_navigation():
        page.click("button:has-text('Preview')")
    rows = page.locator("table.rp-qc-import-rows tbody tr")
    assert rows.count() == 4
    assert page.locator("table.rp-qc-import-rows tbody tr.danger").count() == 3
    text = page.locator("table.rp-qc-import-rows").inner_text()
    assert "unit" in text.lower() and "number" in text.lower() and "FDG-NOPE-01" in text
    first, wrong_unit = rows.nth(0).locator("td"), rows.nth(1).locator("td")
    assert first.nth(5).inner_text() == "01 Mar 2026 10:00 +03 (Asia/Riyadh)"  # no offset: site time
    assert wrong_unit.nth(7).inner_text() == "Not recorded"  # a refused row never says what it would do
    shot(page, "qc-import-preview-refused-rows")

    with page.expect_navigation():
        page.click("button:has-text('Record the 1 valid row')")
    assert "1 result recorded; 3 rows refused." in page.content()
    assert page.locator("table.rp-qc-import-rows tbody tr.success").count() == 1
    shot(page, "qc-import-applied")
    db.session.expire_all()
    assert results_by_code(batch.id)["PH"].status == "PASS"

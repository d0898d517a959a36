"""Chromium: the KPI page draws its charts; the bell count changes after an action; Production
completes an eBR step on the batch page."""

from __future__ import annotations

import datetime as dt

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
    page.click("#ebr-step-1 button[type=submit]:has-text('Done')")
    assert "Step 1 recorded" in page.content()
    assert page.locator("#ebr-step-1 .label-success").count() == 1
    shot(page, "ebr-step-done")

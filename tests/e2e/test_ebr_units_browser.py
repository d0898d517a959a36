"""Chromium: an operator who reads mCi records the eBR yield step (MBq in the master record) on the batch
page's Batch record tab: limits in mCi with the limits as set, refused out of limits in mCi, kept in MBq."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from app.batches import ebr
from app.batches.models import Batch
from app.core.extensions import db
from app.masterdata.models import Product
from tests.activity_unit_factories import prefer
from tests.batch_factories import actor, ensure_master_data, forge_state, new_batch
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import login, shot


def test_ebr_yield_step_in_mci(page, base_url, monkeypatch):
    monkeypatch.setattr("app.core.jobs._enqueue", lambda *a, **k: None)
    page.set_viewport_size({"width": 1280, "height": 800})
    ensure_master_data()
    fdg = db.session.execute(select(Product.id).where(Product.code == "FDG")).scalar_one()
    steps = [ebr.StepInput("End of synthesis activity", "Read the dose calibrator", "EOS activity", "MBq",
                           1110, 500, 2000, True),
             ebr.StepInput("Final volume", "", "Volume", "mL", 15, 10, 20)]  # fmt: skip
    draft = ebr.create_draft(fdg, "FDG record", steps, actor("QC Manager"))
    ebr.activate(draft.id, DEMO_PASSWORD, actor("QC Manager"))
    batch = forge_state(new_batch(planned_activity_mbq=1110), "IN_PRODUCTION")
    prefer("prod", "mCi")
    db.session.commit()
    login(page, base_url, "prod")
    page.goto(f"{base_url}/batches/{batch.id}?tab=ebr#tabs")
    row = page.locator("#ebr-step-1")
    expect(row).to_contain_text("EOS activity: 30.00 mCi")
    expect(row).to_contain_text("13.51–54.05 mCi (as set: 500–2,000 MBq)")
    expect(row.locator("input[name=value]")).to_have_attribute("placeholder", "mCi")
    row.locator("input[name=value]").fill("10.5")
    with page.expect_navigation():
        row.locator("button", has_text="Done").click()
    expect(page.locator("body")).to_contain_text(
        "10.5 mCi (388.5 MBq) is outside 13.51–54.05 mCi (as set: 500–2,000 MBq): add a note; a deviation is opened."
    )
    row = page.locator("#ebr-step-1")
    row.locator("input[name=value]").fill("27")
    with page.expect_navigation():
        row.locator("button", has_text="Done").click()
    expect(page.locator("#ebr-step-1")).to_contain_text("27.00 mCi")
    shot(page, "e2e-ebr-yield-step-in-mci")
    db.session.expire_all()
    assert db.session.get(Batch, batch.id).actual_yield_mbq == Decimal("999.0")

"""eBR: versioned master records (draft -> active with e-signature), snapshot onto new batches,
execution against limits (out of limits needs a note and opens a deviation), QP review findings,
the batch record tab and PDF."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.batches import ebr
from app.batches.ebr_models import BatchEbrStep, EbrMaster
from app.batches.models import Deviation
from app.core.domain import DomainError, Forbidden, ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Product
from tests.batch_factories import actor, ensure_master_data, forge_state, new_batch
from tests.conftest import DEMO_PASSWORD, login_page

STEPS = [
    ebr.StepInput("Check the cassette", "Lot and expiry match the label"),
    ebr.StepInput(
        "End of synthesis activity",
        "Read the dose calibrator",
        "EOS activity",
        "MBq",
        60000,
        40000,
        90000,
        True,
    ),
    ebr.StepInput("Final volume", "", "Volume", "mL", 15, 10, 20),
]


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch):
    monkeypatch.setattr("app.core.jobs._enqueue", lambda *a, **k: None)


def _fdg() -> int:
    ensure_master_data()
    return db.session.execute(select(Product.id).where(Product.code == "FDG")).scalar_one()


def _active_master(steps=STEPS) -> EbrMaster:
    draft = ebr.create_draft(_fdg(), "FDG synthesis record", steps, actor("QC Manager"))
    return ebr.activate(draft.id, DEMO_PASSWORD, actor("QC Manager"))


def test_versions_need_a_signature_and_the_previous_active_retires(app_ctx, db_session):
    v1 = ebr.create_draft(_fdg(), "FDG v1", STEPS, actor("QC Manager"))
    assert v1.version == 1 and v1.status == "DRAFT"
    with pytest.raises(Forbidden):
        ebr.activate(v1.id, DEMO_PASSWORD, actor("Production"))
    with pytest.raises(DomainError):
        ebr.activate(v1.id, "wrong password", actor("QC Manager"))
    ebr.activate(v1.id, DEMO_PASSWORD, actor("QC Manager"))
    assert db_session.get(EbrMaster, v1.id).signature_id is not None
    v2 = ebr.create_draft(_fdg(), "FDG v2", STEPS[:1], actor("QC Manager"))
    assert v2.version == 2
    ebr.activate(v2.id, DEMO_PASSWORD, actor("QC Manager"))
    assert db_session.get(EbrMaster, v1.id).status == "RETIRED"
    assert ebr.active_master(_fdg()).id == v2.id
    with pytest.raises(DomainError):
        ebr.activate(v1.id, DEMO_PASSWORD, actor("QC Manager"))  # a retired version stays retired


def test_limits_must_be_ordered_and_numeric(app_ctx, db_session):
    with pytest.raises(ValidationFailed):
        ebr.create_draft(
            _fdg(), "bad", [ebr.StepInput("x", "", "v", "MBq", None, 10, 5)], actor("QC Manager")
        )
    with pytest.raises(ValidationFailed):
        ebr.create_draft(_fdg(), "bad", [ebr.StepInput("x", "", "v", "MBq", "abc")], actor("QC Manager"))


def test_new_batch_gets_a_snapshot_that_later_versions_do_not_change(app_ctx, db_session):
    _active_master()
    batch = new_batch()
    steps = ebr.batch_steps(batch.id)
    assert [s.title for s in steps] == [s.title for s in STEPS]
    assert steps[1].lower_limit == Decimal("40000") and steps[1].status == "PENDING"
    v2 = ebr.create_draft(_fdg(), "FDG v2", STEPS[:1], actor("QC Manager"))
    ebr.activate(v2.id, DEMO_PASSWORD, actor("QC Manager"))
    assert len(ebr.batch_steps(batch.id)) == 3
    assert len(ebr.batch_steps(new_batch().id)) == 1


def test_in_limits_value_is_recorded_with_who_and_when_and_sets_the_yield(app_ctx, db_session):
    _active_master()
    batch = forge_state(new_batch(planned_activity_mbq=60000), "IN_PRODUCTION")
    step = ebr.batch_steps(batch.id)[1]
    done = ebr.record_step(batch.id, step.id, actor("Production"), value="55000")
    assert done.status == "DONE" and not done.out_of_limits and done.done_by_name and done.done_at
    assert db_session.get(type(batch), batch.id).actual_yield_mbq == Decimal("55000")
    assert ebr.planned_vs_actual(db_session.get(type(batch), batch.id))["actual_mbq"] == 55000


def test_out_of_limits_needs_a_note_and_opens_a_deviation(app_ctx, db_session):
    _active_master()
    batch = forge_state(new_batch(), "IN_PRODUCTION")
    volume = ebr.batch_steps(batch.id)[2]
    with pytest.raises(ValidationFailed) as refused:
        ebr.record_step(batch.id, volume.id, actor("Production"), value="25")
    assert "outside 10–20 mL" in refused.value.user_message
    step = ebr.record_step(batch.id, volume.id, actor("Production"), value="25", note="Extra rinse")
    assert step.out_of_limits and step.deviation_id is not None
    dev = db_session.get(Deviation, step.deviation_id)
    assert dev.status == "OPEN" and "Final volume" in dev.reason
    assert db_session.get(type(batch), batch.id).status == "DEVIATION_OPEN"
    findings = ebr.review_findings(batch.id)
    titles = [f["title"] for f in findings]
    assert "eBR step out of limits" in titles and "eBR step not done" in titles


def test_skip_and_correction_need_a_reason_and_show_in_review(app_ctx, db_session):
    _active_master()
    batch = forge_state(new_batch(), "IN_PRODUCTION")
    first, eos, _vol = ebr.batch_steps(batch.id)
    with pytest.raises(ValidationFailed):
        ebr.record_step(batch.id, first.id, actor("Production"), skip=True)
    ebr.record_step(batch.id, first.id, actor("Production"), skip=True, note="Cassette checked by QA")
    ebr.record_step(batch.id, eos.id, actor("Production"), value="50000")
    with pytest.raises(ValidationFailed):
        ebr.record_step(batch.id, eos.id, actor("Production"), value="51000")
    ebr.record_step(batch.id, eos.id, actor("Production"), value="51000", reason="typo")
    assert db_session.get(BatchEbrStep, eos.id).corrections == 1
    titles = {f["title"] for f in ebr.review_findings(batch.id)}
    assert {"eBR step skipped", "eBR step corrected"} <= titles
    with pytest.raises(Forbidden):
        ebr.record_step(batch.id, eos.id, actor("QC Analyst"), value="1", reason="x")


def test_batch_page_tab_and_record_post(client, db_session):
    _active_master()
    batch = forge_state(new_batch(), "IN_PRODUCTION")
    step = ebr.batch_steps(batch.id)[0]
    login_page(client, "prod")
    html = client.get(f"/batches/{batch.id}?tab=ebr").get_data(as_text=True)
    assert "Check the cassette" in html and "Batch record" in html
    r = client.post(f"/ebr/batch/{batch.id}/step/{step.id}", data={"note": "ok"})
    assert r.status_code == 302
    assert db_session.get(BatchEbrStep, step.id).status == "DONE"
    client.get("/logout/")
    login_page(client, "qcmanager")
    assert "FDG synthesis record" in client.get("/ebr/").get_data(as_text=True)


def test_batch_log_pdf_shows_activities_in_both_units_whoever_prints_it(client, db_session):
    """The batch log / eBR PDF is a record: MBq first, mCi in brackets, the same for every reader."""
    from tests.activity_unit_factories import pdf_text, prefer, save_pdf

    _active_master()
    batch = forge_state(new_batch(planned_activity_mbq=37000), "IN_PRODUCTION")
    eos = ebr.batch_steps(batch.id)[1]
    ebr.record_step(batch.id, eos.id, actor("Production"), value="55500")  # the yield step
    prefer("prod", "mCi")
    prefer("planner", "MBq")
    texts = {}
    for who in ("prod", "planner"):
        login_page(client, who)
        r = client.get(f"/batches/{batch.id}/export.pdf")
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        # the running footer names who generated it and when; the rest is the same for everyone
        texts[who] = "\n".join(line for line in pdf_text(r.data).splitlines() if "Generated" not in line)
        client.get("/logout/")
    save_pdf("batch-log-units", r.data)
    assert texts["prod"] == texts["planner"]
    text = " ".join(texts["prod"].split())  # table cells wrap
    assert "planned 37.00 GBq (1,000.0 mCi) · actual 55.50 GBq (1,500.0 mCi)" in text
    assert "done 55.50 GBq (1,500.0 mCi)" in text  # the eBR yield step, with its limits
    assert "40.00 GBq (1,081.1 mCi) – 90.00 GBq (2,432.4 mCi)" in text and "10–20 mL" in text

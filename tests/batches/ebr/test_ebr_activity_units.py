"""eBR steps whose unit is an activity, in the person's unit (issue 13 item 8): an mCi reader and an MBq
reader see the step's value and limits in their unit, type in it, and are refused in it; the value is
kept exactly in the step's own unit and compared there; °C / mL steps are unchanged."""

from __future__ import annotations

import html as html_lib
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.audit.models import AuditLog
from app.batches import ebr
from app.batches.ebr_models import BatchEbrStep
from app.batches.models import Batch
from app.core.domain import DomainError
from app.core.extensions import db
from app.masterdata.models import Product
from tests.activity_unit_factories import prefer
from tests.batch_factories import actor, ensure_master_data, forge_state, new_batch
from tests.conftest import DEMO_PASSWORD, login_page

# 500 MBq is 13.5135... mCi: the limits cannot be shown exactly in mCi; 370–740 MBq are 10–20 mCi.
STEPS = [
    ebr.StepInput("End of synthesis activity", "Read the dose calibrator", "EOS activity", "MBq",
                  1110, 500, 2000, True),
    ebr.StepInput("Final volume", "", "Volume", "mL", 15, 10, 20),
    ebr.StepInput("Check source", "Cs-137 reference", "Reading", "mCi", 15, 10, 20),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch):
    monkeypatch.setattr("app.core.jobs._enqueue", lambda *a, **k: None)


@pytest.fixture
def batch(app_ctx, db_session) -> Batch:
    ensure_master_data()
    fdg = db.session.execute(select(Product.id).where(Product.code == "FDG")).scalar_one()
    draft = ebr.create_draft(fdg, "FDG record in units", STEPS, actor("QC Manager"))
    ebr.activate(draft.id, DEMO_PASSWORD, actor("QC Manager"))
    return forge_state(new_batch(planned_activity_mbq=1110), "IN_PRODUCTION")


def _steps(batch_id: int) -> list[BatchEbrStep]:
    db.session.expire_all()
    return ebr.batch_steps(batch_id)


def _tab(client, batch_id: int) -> str:
    return html_lib.unescape(client.get(f"/batches/{batch_id}?tab=ebr").get_data(as_text=True))


def _row(page: str, seq: int) -> str:
    return re.search(rf'id="ebr-step-{seq}">(.*?)</tr>', page, re.S).group(1)


def _record(client, batch_id: int, step: BatchEbrStep, **form) -> str:
    r = client.post(f"/ebr/batch/{batch_id}/step/{step.id}", data=form, follow_redirects=True)
    assert r.status_code == 200
    return html_lib.unescape(r.get_data(as_text=True))


def _signed_in(client, unit: str) -> None:
    prefer("prod", unit)
    login_page(client, "prod")


@pytest.mark.parametrize(
    ("unit", "expected", "limits", "inputs"),
    [
        ("MBq", "1,110 MBq", "500–2,000 MBq", '<input type="hidden" name="value_unit" value="MBq">'),
        ("mCi", "30.00 mCi", "13.51–54.05 mCi (as set: 500–2,000 MBq)",
         '<select name="value_unit"'),
    ],
)  # fmt: skip
def test_the_step_is_shown_in_the_readers_unit_other_steps_in_their_own(
    client, batch, unit, expected, limits, inputs
):
    _signed_in(client, unit)
    page = _tab(client, batch.id)
    eos, volume, source = (_row(page, seq) for seq in (1, 2, 3))
    assert (
        f'EOS activity: <bdi dir="ltr">{expected}</bdi><br><small><bdi dir="ltr">{limits}</bdi></small>'
        in eos
    )
    assert inputs in eos and f'placeholder="{unit}"' in eos
    assert (
        'Volume: <bdi dir="ltr">15 mL</bdi>' in volume and "10–20 mL" in volume and "value_unit" not in volume
    )
    assert 'placeholder="mL"' in volume
    # an mCi step: 10–20 mCi are 370–740 MBq exactly; an MBq reader may type MBq or mCi
    assert ("370–740 MBq" if unit == "MBq" else "10.00–20.00 mCi") in source
    assert ('<option value="MBq">MBq</option><option value="mCi">' in source) == (unit == "MBq")


def test_mci_entry_is_kept_exactly_in_the_steps_mbq_and_read_by_both(client, batch, db_session):
    eos = _steps(batch.id)[0]
    _signed_in(client, "mCi")
    page = _record(client, batch.id, eos, value="27", value_unit="mCi")
    assert "Step 1 recorded." in page
    step = _steps(batch.id)[0]
    assert (step.status, step.value, step.out_of_limits) == ("DONE", Decimal("999.000"), False)
    assert db_session.get(Batch, batch.id).actual_yield_mbq == Decimal("999.0")  # 27 x 37, no drift
    assert '<bdi dir="ltr" class="rp-ebr-value">27.00 mCi</bdi>' in _row(page, 1)
    entry = db_session.execute(
        select(AuditLog).where(AuditLog.entity_type == "BatchEbrStep", AuditLog.entity_id == str(step.id))
    ).scalar_one()
    after = entry.after if isinstance(entry.after, dict) else {}
    assert after.get("value") == "999" and after.get("entered") == "27 mCi"
    client.get("/logout/")
    _signed_in(client, "MBq")
    assert '<bdi dir="ltr" class="rp-ebr-value">999 MBq</bdi>' in _row(_tab(client, batch.id), 1)


@pytest.mark.parametrize(
    ("unit", "typed", "message"),
    [
        ("mCi", "10.5", "10.5 mCi (388.5 MBq) is outside 13.51–54.05 mCi (as set: 500–2,000 MBq): "
                        "add a note; a deviation is opened."),
        ("MBq", "388.5", "388.5 MBq is outside 500–2,000 MBq: add a note; a deviation is opened."),
    ],
)  # fmt: skip
def test_out_of_limits_is_said_in_the_readers_unit_and_compared_in_the_steps(
    client, batch, db_session, unit, typed, message
):
    eos = _steps(batch.id)[0]
    _signed_in(client, unit)
    assert message in _record(client, batch.id, eos, value=typed, value_unit=unit)
    assert _steps(batch.id)[0].status == "PENDING"
    page = _record(client, batch.id, eos, value=typed, value_unit=unit, note="Low yield, target foil")
    assert "It is out of limits: a deviation is open on the batch." in page
    step = _steps(batch.id)[0]
    assert (step.value, step.out_of_limits, step.deviation_id is not None) == (Decimal("388.500"), True, True)
    assert "388.5 MBq outside 500–2000 MBq" in " ".join(f["detail"] for f in ebr.review_findings(batch.id))


@pytest.mark.parametrize(
    ("unit", "seq", "typed", "message"),
    [
        ("mCi", 1, "10.1234", "10.1234 mCi is 374.5658 MBq, more decimals than the 3 the batch record "
                              "keeps in MBq: round the value you type."),
        ("mCi", 1, "20.01", "20.01 mCi is 740.37 MBq, more decimals than the 1 the batch's yield keeps: "
                            "round the value you type."),
        ("MBq", 3, "400", "400 MBq is 10.8108… mCi, more decimals than the 3 the batch record keeps in "
                          "mCi: type it in mCi."),
    ],
)  # fmt: skip
def test_a_value_the_step_cannot_keep_exactly_is_refused_not_rounded(
    client, batch, db_session, unit, seq, typed, message
):
    step = _steps(batch.id)[seq - 1]
    _signed_in(client, unit)
    assert message in _record(client, batch.id, step, value=typed, value_unit=unit, note="n")
    assert _steps(batch.id)[seq - 1].status == "PENDING"
    assert db_session.get(Batch, batch.id).actual_yield_mbq is None


def test_the_steps_own_unit_may_be_chosen_and_other_units_are_unchanged(client, batch):
    _eos, volume, source = _steps(batch.id)
    _signed_in(client, "MBq")
    assert "Step 3 recorded." in _record(client, batch.id, source, value="12.5", value_unit="mCi")
    assert _steps(batch.id)[2].value == Decimal("12.500")
    assert '<bdi dir="ltr" class="rp-ebr-value">462.5 MBq</bdi>' in _row(_tab(client, batch.id), 3)
    client.get("/logout/")
    _signed_in(client, "mCi")
    page = _record(client, batch.id, volume, value="25")
    assert "25 mL is outside 10–20 mL: add a note; a deviation is opened." in page
    page = _record(client, batch.id, volume, value="18", value_unit="mCi")
    assert "Step 2 is recorded in mL, not mCi." in page
    assert _steps(batch.id)[1].status == "PENDING"


# --- no drift: what an mCi reader types is what they read back ----------------------------------------
MBQ_STEP = SimpleNamespace(seq=1, unit="MBq", is_yield=False, lower_limit=None, upper_limit=None)
GBQ_STEP = SimpleNamespace(seq=1, unit="GBq", is_yield=False, lower_limit=None, upper_limit=None)


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("2000000"), places=3))
def test_mci_typed_into_an_mbq_step_reads_back_as_typed(mci):
    kept, entered = ebr._in_step_unit(mci, "mCi", MBQ_STEP)
    assert kept == mci * 37 and entered == f"{mci.normalize():f} mCi"  # exact, never rounded
    shown = ebr.value_text(kept, MBQ_STEP, "mCi")
    number = Decimal(shown.removesuffix(" mCi").replace(",", ""))
    assert number == mci  # the usual two decimals when exact, else the exact decimal, never rounded


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000000"), places=3))
def test_a_value_in_the_steps_unit_is_kept_or_refused_never_changed(mci):
    try:
        kept, _ = ebr._in_step_unit(mci, "mCi", GBQ_STEP)
    except DomainError as refused:
        assert refused.code == "TOO_PRECISE" and "round the value you type" in refused.user_message
        assert (mci * 37) % 1 != 0  # not a whole number of MBq: GBq with 3 decimals cannot hold it
        return
    assert kept * 1000 == mci * 37

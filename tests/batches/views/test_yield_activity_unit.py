"""The complete-production dialog's end-of-synthesis activity in the person's unit (issue 13 item 8):
labelled with their unit, typed in it, handed to the batch service in MBq exactly; the API stays MBq."""

from __future__ import annotations

import html as html_lib
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.batches.models import Batch, BatchEvent
from tests.activity_unit_factories import prefer
from tests.batch_page_factories import journey
from tests.conftest import login_page

JSON = {"Accept": "application/json"}


def in_production(client, unit: str) -> Batch:
    """A batch in production, and the operator signed in with their unit set to `unit`."""
    prefer("prod", unit)
    batch = journey("IN_PRODUCTION")
    login_page(client, "prod")
    return batch


def complete(client, batch: Batch, typed: str):
    return client.post(
        f"/batches/{batch.id}/act",
        data={"to_status": "PRODUCTION_COMPLETE", "version": batch.version, "checklist": ["0", "1"],
              "field_actual_yield_mbq": typed},
        headers=JSON,
    )  # fmt: skip


def yield_field(client, batch_id: int) -> dict:
    """The complete-production dialog's activity field, as the journey page hands it to the dialog."""
    page = client.get(f"/batches/{batch_id}").get_data(as_text=True)
    for raw in re.findall(r'data-rp-action="([^"]*)"', page):
        dialog = json.loads(html_lib.unescape(raw))
        if dialog["trigger"] == "complete_production":
            return dialog["fields"][0]
    raise AssertionError("no complete-production dialog on the page")


def stored(db_session, batch_id: int) -> tuple[Decimal | None, dict]:
    db_session.expire_all()
    batch = db_session.get(Batch, batch_id)
    moved = db_session.execute(
        select(BatchEvent).where(
            BatchEvent.batch_id == batch_id, BatchEvent.to_status == "PRODUCTION_COMPLETE"
        )
    ).scalar_one()
    return batch.actual_yield_mbq, moved.meta or {}


@pytest.mark.parametrize(
    ("unit", "typed", "mbq", "shown"),
    [
        ("mCi", "10", Decimal("370.0"), "10.00 mCi"),
        ("mCi", "10.5", Decimal("388.5"), "10.50 mCi"),
        ("mCi", "4000", Decimal("148000.0"), "4,000.0 mCi"),
        ("MBq", "370", Decimal("370.0"), "370 MBq"),
        ("MBq", "148000", Decimal("148000.0"), "148.00 GBq"),
    ],
)
def test_yield_typed_in_the_persons_unit_is_stored_in_exact_mbq(
    client, app_ctx, db_session, unit, typed, mbq, shown
):
    batch = in_production(client, unit)
    field = yield_field(client, batch.id)
    assert (field["label"], field["unit"]) == ("End-of-synthesis activity", unit)
    assert ("At most 1 decimal; 1 mCi = 37 MBq." in field["help"]) == (unit == "mCi")
    r = complete(client, batch, typed)
    assert r.status_code == 200, r.get_json()
    yield_mbq, meta = stored(db_session, batch.id)
    assert yield_mbq == mbq
    assert Decimal(meta["actual_yield_mbq"]) == mbq  # the service was handed MBq
    assert meta.get("actual_yield_entered") == (f"{typed} mCi" if unit == "mCi" else None)
    page = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert f'actual <strong><bdi dir="ltr">{shown}</bdi>' in page


@pytest.mark.parametrize(
    ("typed", "mbq"),
    [
        ("10.3", Decimal("381.1")),  # reads back as 10.30 mCi, not 10.29999: 381.1 / 37 = 10.3 exactly
        ("54054", Decimal("1999998.0")),  # the largest whole mCi under the service's 2,000,000 MBq
        ("  ", None),  # still optional
    ],
)
def test_mci_round_trip_has_no_drift(client, app_ctx, db_session, typed, mbq):
    batch = in_production(client, "mCi")
    assert complete(client, batch, typed).status_code == 200
    yield_mbq, meta = stored(db_session, batch.id)
    assert yield_mbq == mbq and ("actual_yield_mbq" in meta) == (mbq is not None)
    assert mbq is None or yield_mbq / 37 == Decimal(typed)


@pytest.mark.parametrize(
    ("unit", "typed", "status", "code", "message"),
    [
        ("mCi", "10.123", 422, "TOO_PRECISE",
         "10.123 mCi is 374.551 MBq, more decimals than the 1 kept: round the value you type."),
        ("MBq", "370.05", 422, "TOO_PRECISE",
         "370.05 MBq is 370.05 MBq, more decimals than the 1 kept: round the value you type."),
        ("mCi", "60000", 422, "VALIDATION_ERROR", "The end-of-synthesis activity must be at most 54,054 mCi."),
        ("MBq", "2000000.1", 422, "VALIDATION_ERROR",
         "The end-of-synthesis activity must be at most 2,000.00 GBq."),
        ("mCi", "ten", 422, "VALIDATION_ERROR", "The end-of-synthesis activity must be a number."),
        ("mCi", "-1", 422, "VALIDATION_ERROR", "The end-of-synthesis activity must be above zero."),
        ("mCi", "1,000", 422, "VALIDATION_ERROR",
         "Type the end-of-synthesis activity without commas, with a point for decimals (e.g. 10.5)."),
    ],
)  # fmt: skip
def test_a_yield_the_page_cannot_keep_exactly_is_refused_not_rounded(
    client, app_ctx, db_session, unit, typed, status, code, message
):
    batch = in_production(client, unit)
    r = complete(client, batch, typed)
    assert (r.status_code, r.get_json()["code"], r.get_json()["userMessage"]) == (status, code, message)
    db_session.expire_all()
    batch = db_session.get(Batch, batch.id)
    assert (batch.status, batch.actual_yield_mbq) == ("IN_PRODUCTION", None)  # nothing moved


def test_the_api_keeps_actual_yield_in_mbq_whatever_the_persons_unit(api, app_ctx, db_session):
    prefer("prod", "mCi")
    batch = journey("IN_PRODUCTION")
    r = api("prod").post(
        f"/api/v1/batches/{batch.id}/transition",
        json={"to_status": "PRODUCTION_COMPLETE", "metadata": {"actual_yield_mbq": 370}},
    )
    assert r.status_code == 200, r.get_json()
    assert stored(db_session, batch.id)[0] == Decimal("370.0")

"""The half-life calculator's refusal of a wrong set of readings names no unit (issue 13 item 8): the page's
readings are typed in the analyst's unit (MBq or mCi); the API's field says MBq in the details."""

from __future__ import annotations

import pytest

from app.core.domain import DomainError
from app.qc import service as qc
from tests.qc_factories import actor, make_batch, results_by_code

pytestmark = pytest.mark.usefixtures("app_ctx")

MESSAGE = "Give exactly two readings, each with a time and an activity."
ONE = [{"at": "2026-11-29T08:00:00Z", "mbq": "1000"}]


@pytest.mark.parametrize("readings", [ONE, ONE * 3, ["1000", "800"], {"at": "x"}])
def test_the_service_refuses_anything_but_two_readings_without_naming_a_unit(readings):
    batch = make_batch("FDG")
    row = results_by_code(batch.id)["RNID"]
    with pytest.raises(DomainError) as refused:
        qc.record_qc_result(batch.id, row.id, {"readings": readings}, actor=actor("qc"))
    assert (refused.value.code, refused.value.user_message) == ("VALIDATION_ERROR", MESSAGE)
    assert "MBq" not in refused.value.user_message


def test_the_api_says_the_same_and_names_its_mbq_field_in_the_details(api):
    from tests.activity_unit_factories import prefer

    batch = make_batch("FDG")
    row = results_by_code(batch.id)["RNID"]
    prefer("qc", "mCi")  # the person's unit plays no part in the API
    r = api("qc").put(f"/api/v1/batches/{batch.id}/qc-results/{row.id}", json={"readings": ONE})
    body = r.get_json()
    assert (r.status_code, body["code"], body["userMessage"]) == (422, "VALIDATION_ERROR", MESSAGE)
    assert body["details"]["fields"]["readings"] == [
        'Two readings: {"at": a time, "mbq": the activity in MBq}.'
    ]

"""The audit trail speaks people's words; the raw stored value stays on hover for auditors."""

from __future__ import annotations

import re

import pytest
from flask import current_app

from app.audit import labels
from app.audit import service as audit
from app.core.actor import SYSTEM
from tests.conftest import login_page


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("shipment_status", "Shipment status"),
        ("BatchQcResult", "Batch QC result"),
        ("QC_PASSED", "QC passed"),
        ("DISPATCHED", "Dispatched"),
        ("qp_disposition", "QP disposition"),
    ],
)
def test_identifiers_become_words(raw, expected):
    assert labels.words(raw) == expected


def test_known_types_and_actions_use_the_labels_people_use():
    assert labels.entity_label("BatchQcResult") == "QC result"
    assert labels.entity_label("OosCase") == "OOS investigation"
    assert labels.action_label("CORRECT_RESULT") == "Correction"
    assert labels.action_label("STATUS_CHANGE") == "Status changed"
    assert labels.entity_label("DeliveryWindow") == "Delivery window"  # a new part's type, no entry needed


def test_values_that_are_codes_read_as_words_others_unchanged():
    assert labels.value_label("PACKED") == "Packed"
    assert labels.value_label("Stability study SS-2026-04") == "Stability study SS-2026-04"
    assert labels.value_label(540) == 540


def test_the_viewer_names_records_and_changes_in_words_keeping_raw_values_on_hover(client, db_session):
    user = current_app.appbuilder.sm.find_user(username="qp")
    audit.record(
        "User", user.id, "UPDATE", before={"shipment_status": "PACKED"}, after={"shipment_status": "DISPATCHED"},
        reason="label test", actor=SYSTEM, trace_id="trace-labels-1",
    )  # fmt: skip
    audit.record("BatchQcResult", 77, "CORRECT_RESULT", before={"value": "1.0"}, after={"value": "1.1"},
                 reason="typo", actor=SYSTEM, trace_id="trace-labels-2")  # fmt: skip
    db_session.flush()
    login_page(client, "auditor")
    html = client.get("/audit/?trace_id=trace-labels-1").get_data(as_text=True)
    assert f"User: {user.first_name} {user.last_name}" in html
    assert f'title="User {user.id}"' in html
    assert ">Shipment status</th>" in html and ">Packed<" in html and ">Dispatched<" in html
    assert 'title="shipment_status"' in html and 'title="UPDATE"' in html
    html = client.get("/audit/?trace_id=trace-labels-2").get_data(as_text=True)
    assert "QC result 77" in html and ">Correction</span>" in html
    options = re.findall(r'<option value="(\w+)" title="\w+" ?>([^<]+)</option>', html)
    assert ("BatchQcResult", "QC result") in options and ("CORRECT_RESULT", "Correction") in options

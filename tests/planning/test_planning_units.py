"""The planner's "batch planned" message states the activity at end of synthesis in the planner's unit
(issue 13 item 8): two 370 MBq doses calibrated at EOS, overhead 1.15 -> 851 MBq = 23.00 mCi."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.batches.models import Batch
from app.core.extensions import db
from tests import order_factories as of
from tests.activity_unit_factories import prefer
from tests.conftest import login_page

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.mark.parametrize(("unit", "shown"), [("mCi", "23.00 mCi"), ("MBq", "851 MBq")])
def test_plan_message_states_the_eos_activity_in_the_planners_unit(client, unit, shown):
    order = of.validated_order(of.bookable_window(total=60), 2, f"KF-PU-{unit}")
    prefer("planner", unit)
    login_page(client, "planner")
    # EOS at the doses' calibration time (12:00 Riyadh = 09:00 UTC): no decay, 2 x 370 x 1.15
    done = client.post("/planner/plan", data={"order_id": str(order.id), "eos": "2030-06-03T12:00"})
    assert done.status_code == 302, done.get_data(as_text=True)[:300]
    batch_id = int(done.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert db.session.get(Batch, batch_id).planned_activity_mbq == Decimal("851.0")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"planned with 1 order(s): {shown} at end of synthesis." in page

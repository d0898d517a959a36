"""The batch list against a plain Python reading of the same batches, for random filter, sort and
paging combinations (hypothesis). The list compiles one statement per filter shape and reuses it
(app.core.sql.fetch): a shape key that missed a difference would answer one query with another
query's statement, which this test would see."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.batches import queries
from app.batches.filters import ListQuery
from app.batches.models import Batch
from app.core.extensions import db
from app.masterdata.models import Product
from tests.batch_factories import actor, forge_state, new_batch

DAY = dt.datetime(2032, 5, 10, 23, 0, tzinfo=dt.UTC)
STATES = ("PLANNED", "QC_PENDING", "QP_REVIEW", "RELEASED", "CANCELLED")


@pytest.fixture
def fleet(app_ctx):
    made = []
    for i in range(9):
        b = new_batch(("FDG", "NAF")[i % 2], start=DAY + dt.timedelta(hours=5 * i))
        state = STATES[i % len(STATES)]
        made.append(forge_state(b, state, "PLANNED" if state == "CANCELLED" else None))
    db.session.commit()
    return [b.id for b in made]


queries_strategy = st.fixed_dictionaries(
    {
        "statuses": st.lists(st.sampled_from(STATES), unique=True, max_size=3).map(tuple),
        "products": st.lists(st.sampled_from(("FDG", "NAF")), unique=True, max_size=2).map(tuple),
        "from_h": st.none() | st.integers(0, 45),
        "to_h": st.none() | st.integers(0, 45),
        "sort": st.sampled_from(("planned_at", "status", "updated_at")),
        "order": st.sampled_from(("asc", "desc")),
        "page_size": st.integers(1, 6),
        "page": st.integers(1, 3),
        "exceptions_only": st.booleans(),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=queries_strategy)
def test_the_list_answers_what_a_plain_reading_of_the_batches_says(fleet, q):
    products = {p.code: p.id for p in db.session.execute(select(Product)).scalars()}
    lq = ListQuery(
        statuses=q["statuses"],
        product_ids=tuple(sorted(products[c] for c in q["products"])),
        date_from=None if q["from_h"] is None else DAY + dt.timedelta(hours=q["from_h"]),
        date_to=None if q["to_h"] is None else DAY + dt.timedelta(hours=q["to_h"]),
        sort=q["sort"],
        order=q["order"],
        page_size=q["page_size"],
        page=q["page"],
        exceptions_only=q["exceptions_only"],
    )
    rows = db.session.execute(select(Batch).where(Batch.id.in_(fleet))).scalars().all()

    def keep(b: Batch) -> bool:
        return (
            (not lq.statuses or b.status in lq.statuses)
            and (not lq.product_ids or b.product_id in lq.product_ids)
            and (lq.date_from is None or b.planned_start_at >= lq.date_from)
            and (lq.date_to is None or b.planned_start_at < lq.date_to)
            and (not lq.exceptions_only or b.status in queries.EXCEPTION_STATES)
        )

    sort_key = {
        "planned_at": lambda b: (b.planned_start_at, b.id),
        "status": lambda b: (b.status_rank, b.planned_start_at, b.id),
        "updated_at": lambda b: (b.updated_at, b.id),
    }[lq.sort]
    expected = sorted((b for b in rows if keep(b)), key=sort_key, reverse=lq.order == "desc")
    start = (lq.page - 1) * lq.page_size
    got = queries.list_batches(lq, actor("planner"))
    assert got["total"] == len(expected)
    assert [i["id"] for i in got["items"]] == [b.id for b in expected[start : start + lq.page_size]]

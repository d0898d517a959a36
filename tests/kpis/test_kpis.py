"""KPI figures against hand-computed fixtures: lead time median / p90, decay-corrected yield,
utilization buckets, the refresh is idempotent, the page renders with its charts and exports CSV."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import update

from app.batches.models import Batch
from app.kpis import queries, service
from tests.batch_factories import new_batch
from tests.conftest import login_page

EOS = dt.datetime(2026, 11, 22, 4, 0, tzinfo=dt.UTC)  # 07:00 in Riyadh, the same site day


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch):
    monkeypatch.setattr("app.core.jobs._enqueue", lambda *a, **k: None)


def _made(
    db_session, lead_min: int | None, planned: float | None, actual: float | None, late_min: int = 0
) -> Batch:
    # planned start fixed before EOS (the factory's default start moves on with every batch of the run)
    b = new_batch(planned_activity_mbq=planned, start=EOS - dt.timedelta(hours=2))
    eos = EOS + dt.timedelta(minutes=late_min)
    values = {"actual_end_at": eos, "planned_end_at": EOS, "actual_yield_mbq": actual}
    if lead_min is not None:
        values["released_at"] = eos + dt.timedelta(minutes=lead_min)
    db_session.execute(update(Batch).where(Batch.id == b.id).values(**values))
    return b


def test_lead_time_median_p90_and_yield_are_the_hand_computed_figures(app_ctx, db_session):
    for lead in (30, 40, 50, 60, 100):
        _made(db_session, lead, None, None)
    late = _made(db_session, None, 60000, 45000, late_min=110)  # one half-life (F-18: 109.77 min) late
    assert service.refresh_facts() == 6
    day = dt.date(2026, 11, 22)
    (fdg,) = queries.lead_times(day, day)
    # median of 30,40,50,60,100 = 50; p90 (linear) = 60 + 0.6 * (100 - 60) = 84
    assert (fdg["batches"], fdg["median_min"], fdg["p90_min"]) == (5, 50.0, 84.0)
    (y,) = queries.yields(day, day)
    corrected = 60000 * math.exp(-math.log(2) * 110 * 60 / 6586.2)
    assert y["batch_no"] == late.batch_no and abs(float(y["planned_corrected_mbq"]) - corrected) < 0.1
    assert float(y["yield_pct"]) == round(100 * 45000 / round(corrected, 1), 1)
    first = queries.computed_at()
    assert service.refresh_facts() == 6  # idempotent: same facts, new computed time
    assert len(queries.yields(day, day)) == 1 and queries.computed_at() >= first


def test_utilization_buckets_by_week_and_month():
    rows = [
        {"day": dt.date(2026, 11, 23), "total_min": 100, "reserved_min": 50, "committed_min": 25},
        {"day": dt.date(2026, 11, 24), "total_min": 300, "reserved_min": 150, "committed_min": 75},
        {"day": dt.date(2026, 12, 1), "total_min": 0, "reserved_min": 0, "committed_min": 0},
    ]
    weekly = queries.utilization(rows, "week")
    assert weekly[0] == {"period": "2026-W48", "total_min": 400, "reserved_pct": 50.0, "committed_pct": 25.0}
    assert weekly[1]["reserved_pct"] is None  # no capacity: no figure, not a false zero
    assert [m["period"] for m in queries.utilization(rows, "month")] == ["2026-11", "2026-12"]


def test_page_renders_charts_and_tables_and_csv_export_is_formula_safe(client, db_session):
    _made(db_session, 45, None, None)
    service.refresh_facts()
    login_page(client, "planner")
    html = client.get("/kpis/?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert "chart.umd.min.js" in html and 'id="kpi-lead"' in html and "Median min" in html
    assert "No delivery windows are published" in html  # capacity empty: said, not zero
    csv = client.get("/kpis/export/lead.csv?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert csv.splitlines()[0] == "product,batches,avg_min,median_min,p90_min" and ",45.0,45.0,45.0" in csv
    client.get("/logout/")
    login_page(client, "hospital")
    assert client.get("/kpis/").status_code in (302, 403)


def test_page_pdf_and_chart_tooltips_show_activities_in_the_readers_unit(client, db_session):
    from tests.activity_unit_factories import pdf_text, prefer

    _made(db_session, None, 74000, 37000)  # on time: the planned activity needs no decay correction
    service.refresh_facts()
    period = "from=2026-11-22&to=2026-11-22"
    prefer("planner", "mCi")
    prefer("qp", "MBq")
    login_page(client, "planner")
    html = client.get(f"/kpis/?{period}").get_data(as_text=True)
    # tables: planned (corrected) 74,000 MBq, actual 37,000 MBq, produced that day 37,000 MBq
    assert (
        '<td><bdi dir="ltr">2,000.0 mCi</bdi></td><td><bdi dir="ltr">1,000.0 mCi</bdi></td><td>50.0 %' in html
    )
    assert '<td><bdi dir="ltr">1,000.0 mCi</bdi></td><td><bdi dir="ltr">—</bdi></td>' in html
    assert "Activities in mCi (1 mCi = 37 MBq)" in html and "Planned (corrected)</th>" in html
    assert '"actual_text": "1,000.0 mCi"' in html and '"planned_text": "2,000.0 mCi"' in html  # tooltips
    assert '"produced_text": "1,000.0 mCi"' in html and "GBq" not in html
    mci_pdf = pdf_text(client.get(f"/kpis/export/kpis.pdf?{period}").data)
    assert "2,000.0 mCi" in mci_pdf and "1,000.0 mCi" in mci_pdf and "Activities in mCi" in mci_pdf
    csv = client.get(f"/kpis/export/yields.csv?{period}").get_data(as_text=True)
    assert "planned_corrected_mbq,actual_mbq" in csv and "74000" in csv  # the exports keep MBq
    client.get("/logout/")
    login_page(client, "qp")
    html = client.get(f"/kpis/?{period}").get_data(as_text=True)
    assert '<td><bdi dir="ltr">74.00 GBq</bdi></td><td><bdi dir="ltr">37.00 GBq</bdi></td>' in html
    assert '"actual_text": "37.00 GBq"' in html and "mCi<" not in html and 'mCi"' not in html
    assert "37.00 GBq" in pdf_text(client.get(f"/kpis/export/kpis.pdf?{period}").data)

#!/usr/bin/env python3
"""QC benchmark: one result entry end to end through the API, and the /batches/<id>/qc page.

    .venv/bin/python bench/qc.py [--batches 30] [--pages 100]

Builds its own database (`rp_bench_qc`, dropped and re-created each run) on DATABASE_URL's server
(or an embedded PostgreSQL under instance/bench-pg), upgrades it with the real migrations, syncs
roles and seeds. Adds a 20-test product template (BENCH20, signed by the QC Manager) and
--batches batches in QC_PENDING, then measures in-process (Flask test client, no network):

1. entry: PUT /api/v1/batches/<id>/qc-results/<rid> as `qc` with a bearer token — parse, lock the
   batch and session, evaluate, store the value version, audit row, batch move on the first
   result of a batch (QC_PENDING -> QC_IN_PROGRESS with its event), commit; plus corrections
   (with a reason) of values already entered;
2. page: GET /batches/<id>/qc as `qc` (session cookie) for a batch with 20 tests, half entered.

Goals (issue 5): entry median <= 30 ms, page median <= 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The script's folder goes last on the path: bench/http.py must not shadow the standard library's http.
sys.path[:] = (
    [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]
)

from audit import fresh_database, server_url  # noqa: E402  (bench/audit.py helpers)

PASSWORD = "radiopharma-demo"
EXTRA_TESTS = (
    ("BENCH_OSMO", "Osmolality", "mOsm/kg"),
    ("BENCH_VOL", "Fill volume", "mL"),
    ("BENCH_ACT", "Activity concentration", "GBq/mL"),
)


def make_app(url: str):
    from app import create_app
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        DEMO_MODE = True  # a throwaway database; no secrets involved
        RATELIMIT_STORAGE_URI = "memory://"
        AUTH_RATE_LIMITED = False
        WTF_CSRF_ENABLED = False
        UPLOAD_DIR = str(ROOT / "instance" / "bench-uploads")

    return create_app(BenchConfig)


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"median {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms   (n={len(values)})"


def build(app, n_batches: int) -> list[int]:
    from flask_migrate import upgrade

    from app.batches import service as batches
    from app.core.actor import actor_from_user
    from app.core.extensions import db
    from app.masterdata.models import Nuclide, Product
    from app.qc import catalog as qc_catalog
    from app.qc import templates as qc_templates
    from app.security.sync import sync_roles
    from seeds import run_seeds

    with app.app_context():
        upgrade()
        sync_roles(app.appbuilder)
        run_seeds(demo=False)
        sm = app.appbuilder.sm
        who = {u: actor_from_user(sm.find_user(username=u)) for u in ("planner", "prod", "qcmanager")}
        for code, name, unit in EXTRA_TESTS:
            qc_catalog.create_test_definition(
                {"code": code, "name_en": name, "result_type": "NUMERIC", "unit": unit, "decimal_places": 1},
                actor=who["qcmanager"],
            )
        f18 = db.session.query(Nuclide).filter_by(symbol="F-18").one()
        product = Product(
            code="BENCH20", name_en="Benchmark product (20 QC tests)", nuclide_id=f18.id, shelf_life_min=600
        )
        db.session.add(product)
        db.session.commit()
        tests = qc_catalog.list_definitions(active=True)[:20]
        lines = []
        for t in tests:
            if t.result_type == "NUMERIC":
                rule = {"rule_type": "RANGE", "min_value": "1", "max_value": "1000"}
            else:
                rule = {"rule_type": "PASS_FAIL_ONLY", "text_criteria_en": "Conforms"}
            lines.append({"test_definition_id": t.id, "rule": rule})
        tpl = qc_templates.create_version(product.id, lines=lines, actor=who["qcmanager"])
        qc_templates.activate(
            product.id, tpl.id, password=PASSWORD, meaning="Benchmark", actor=who["qcmanager"]
        )
        ids = []
        start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        for i in range(n_batches):
            b = batches.create_batch(
                "BENCH20",
                start + dt.timedelta(minutes=i),
                start + dt.timedelta(minutes=i + 60),
                actor=who["planner"],
            )
            batches.transition_batch(b.id, "SCHEDULED", who["planner"])
            batches.transition_batch(b.id, "IN_PRODUCTION", who["prod"])
            batches.transition_batch(b.id, "PRODUCTION_COMPLETE", who["prod"])
            ids.append(b.id)
        db.session.remove()
    return ids


def session_rows(app, batch_id: int) -> list[tuple[int, str, tuple[str, ...]]]:
    from app.qc import service as qc

    with app.app_context():
        _, session = qc.get_session(batch_id)
        rows = [(r.id, r.result_type, r.options) for r in session.results]
        from app.core.extensions import db

        db.session.remove()
    return rows


def payload(result_type: str, value: Decimal, options: tuple[str, ...] = ()) -> dict:
    if result_type == "NUMERIC":
        return {"numeric_value": str(value)}
    if result_type in ("TEXT", "OPTION_LIST"):
        return {"text_value": options[0] if options else "Conforms", "pass_fail_value": "PASS"}
    return {"pass_fail_value": "PASS"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args()

    server, handle = server_url()
    url = fresh_database(server, "rp_bench_qc")
    app = make_app(url)
    t0 = time.perf_counter()
    batch_ids = build(app, args.batches)
    print(f"set-up: {len(batch_ids)} batches of a 20-test product in {time.perf_counter() - t0:.1f} s")

    client = app.test_client()
    token = client.post(
        "/api/v1/security/login", json={"username": "qc", "password": PASSWORD, "provider": "db"}
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    first, later, corrections = [], [], []
    page_batch = batch_ids[0]
    for n, batch_id in enumerate(batch_ids):
        rows = session_rows(app, batch_id)
        if batch_id == page_batch:
            rows = rows[:10]  # leave half of the page batch pending
        for i, (rid, rtype, options) in enumerate(rows):
            t = time.perf_counter()
            r = client.put(
                f"/api/v1/batches/{batch_id}/qc-results/{rid}",
                json=payload(rtype, Decimal(5 + i), options),
                headers=headers,
            )
            elapsed = (time.perf_counter() - t) * 1000
            assert r.status_code == 200, r.get_json()
            (first if i == 0 else later).append(elapsed)
        if batch_id != page_batch:
            for rid, rtype, _ in rows[:5]:
                if rtype != "NUMERIC":
                    continue
                data = {**payload(rtype, Decimal(7 + n % 3)), "reason": "benchmark correction"}
                t = time.perf_counter()
                r = client.put(f"/api/v1/batches/{batch_id}/qc-results/{rid}", json=data, headers=headers)
                corrections.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.get_json()

    r = client.post("/login/", data={"username": "qc", "password": PASSWORD})
    assert r.status_code == 302
    pages = []
    for _ in range(args.pages):
        t = time.perf_counter()
        r = client.get(f"/batches/{page_batch}/qc")
        pages.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200 and b"tests completed" in r.data
    entries = first + later
    print(f"result entry (API, all)          {ms(entries)}")
    print(f"  first result of a batch        {ms(first)}   (includes the batch's move to QC_IN_PROGRESS)")
    print(f"  later results                  {ms(later)}")
    print(f"  corrections with a reason      {ms(corrections)}")
    print(f"/batches/<id>/qc, 20 tests       {ms(pages)}")
    ok_entry = statistics.median(entries) <= 30
    ok_page = statistics.median(pages) <= 100
    print(
        f"goals: entry <= 30 ms {'met' if ok_entry else 'NOT met'}; page <= 100 ms {'met' if ok_page else 'NOT met'}"
    )
    del handle


if __name__ == "__main__":
    main()

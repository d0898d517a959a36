"""SQL statements per successful hold through the whole HTTP stack (JWT, permission check, service,
audit, notifications, the answer): the bookings/s of bench/bookings.py follow the database round trips
and, above all, those made while the window's and the audit chain's locks are held. Fails when a
change adds statements; raise the budget only with a reason (and a new bench figure)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from app.core.extensions import db
from tests import capacity_factories as f
from tests.conftest import Api

# Per hold, a fresh request session: JWT user, the customer (a planner names it by code; a hospital
# login's own is looked up), product by code, time standards, the people to tell (one statement),
# window lock, window count, new id, reservation + notification + e-mail outbox inserts, audit chain
# lock + head + row, and the answer (one statement). Before this budget: 24 (26 for a hospital).
BUDGET = 16
# Of those, after the window's lock is taken: lock, count, id, three inserts, the audit chain's
# lock, head and row.
BUDGET_UNDER_WINDOW_LOCK = 9


def _statements(app, fn):
    seen: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split())[:160])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        result = fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return result, seen


def test_one_hold_costs_a_fixed_number_of_sql_statements(app, committed):
    day = dt.date.today() + dt.timedelta(days=10)
    cal = f.calendar()
    w = f.window(cal, day=day, total=600)
    f.standard("FDG", 6)
    db.session.commit()
    window_id = w.id
    db.session.remove()
    client = app.test_client()
    planner = Api(client, "planner")
    hospital = Api(client, "hospital")
    body = {"product_code": "FDG", "window_id": window_id, "dose_count": 1}
    # Warm up (first request of a user, compiled statements, the permission cache).
    assert planner.post("/api/v1/reservations", json=body | {"customer_code": "KFSH"}).status_code == 201
    assert hospital.post("/api/v1/reservations", json=body).status_code == 201

    for who, payload in ((planner, body | {"customer_code": "KFSH"}), (hospital, body)):
        db.session.remove()  # a server request starts with an empty session
        r, seen = _statements(app, lambda: who.post("/api/v1/reservations", json=payload))  # noqa: B023
        assert r.status_code == 201, r.get_json()
        listing = "\n".join(seen)
        assert len(seen) <= BUDGET, f"{len(seen)} statements per hold (budget {BUDGET}):\n{listing}"
        locked = next(i for i, s in enumerate(seen) if "pg_advisory_xact_lock" in s)
        assert len(seen) - locked <= BUDGET_UNDER_WINDOW_LOCK + 1, listing  # + the answer's read
        # Nothing is looked up under the lock that could have been read before it.
        after_lock = " ".join(seen[locked:])
        for table in ("customer_user", "notification_preference", "time_standard", "FROM ab_user"):
            assert table not in after_lock.split("RELEASE")[0].split("COMMIT")[0], listing
        # The audit row is the transaction's last write: the chain's lock serialises every audited act.
        writes = [s for s in seen[locked:] if s.startswith("INSERT")]
        assert writes[-1].startswith("INSERT INTO audit_log"), listing

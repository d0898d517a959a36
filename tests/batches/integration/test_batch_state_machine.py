"""Random people pressing random buttons: a hypothesis state machine against the real service and
database. After every step the batch must still tell a true story:

- its status equals the last status event's to_status, and its version counts its status events;
- no dispensing, packing or dispatch state without a prior RELEASED and no block since (lifting a
  post-release hold counts as a new release only with the QP's signature);
- a final state never changes; QC can only have passed while the QC session said so;
- events are append-only (what was there stays, unchanged) and in time order;
- the derived fields equal a replay of the status events.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from app.batches import service as batches
from app.batches.domain import flow as batch_flow
from app.batches.domain.fields import derive_history
from app.batches.domain.states import (
    BLOCKING_STATES,
    DOWNSTREAM_STATES,
    FINAL_STATES,
    MAIN_PATH,
    POST_RELEASE,
    STATES,
)
from app.batches.models import BatchEvent
from app.core.domain import DomainError
from app.core.extensions import db
from tests.batch_factories import USERS, actor, new_batch, qp_signature

ROLES = sorted(USERS)
QC_SESSION = [None, "NOT_STARTED", "IN_PROGRESS", "WAITING_REVIEW", "QC_PASSED", "QC_FAILED"]
# Weighted towards the main path so random walks get past QC and release often enough.
TARGETS = st.one_of(
    st.sampled_from(STATES),
    st.sampled_from(
        [
            "SCHEDULED",
            "IN_PRODUCTION",
            "PRODUCTION_COMPLETE",
            "QC_IN_PROGRESS",
            "QC_PASSED",
            "QP_REVIEW",
            "RELEASED",
            "DISPENSING_IN_PROGRESS",
            "DISPENSED",
            "PACKED",
            "DISPATCHED",
        ]
    ),
)


def _events(batch_id: int) -> list[tuple]:
    rows = db.session.execute(
        select(
            BatchEvent.id,
            BatchEvent.to_status,
            BatchEvent.occurred_at,
            BatchEvent.note,
            BatchEvent.signature_id,
            BatchEvent.batch_version,
        )
        .where(BatchEvent.batch_id == batch_id)
        .order_by(BatchEvent.id)
    ).all()
    return [tuple(r) for r in rows]


def build_machine(app, monkeypatch):
    qc = {"status": "QC_PASSED"}
    monkeypatch.setattr(batches.qc_hooks, "qc_session_status", lambda batch: qc["status"])
    people = {r: actor(r) for r in ROLES}

    class BatchJourney(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            app.config["ALLOW_ADMIN_OVERRIDE"] = False
            self.batch = new_batch()
            self.seen: list[tuple] = _events(self.batch.id)
            self.qc_passed_moves: list[tuple[int, str | None]] = []

        @rule(status=st.sampled_from(QC_SESSION))
        def qc_session_changes(self, status):
            qc["status"] = status

        @rule(on=st.booleans())
        def admin_switches_overrides(self, on):
            app.config["ALLOW_ADMIN_OVERRIDE"] = on

        @rule(
            to=TARGETS,
            role=st.sampled_from(ROLES),
            note=st.sampled_from([None, "", "Checked and recorded."]),
            signs=st.booleans(),
            override=st.booleans(),
        )
        def someone_presses_a_button(self, to, role, note, signs, override):
            who = people[role]
            sig = qp_signature(self.batch, who) if signs and role in ("QP", "Admin") else None
            before = self.batch.version
            try:
                batches.transition_batch(self.batch.id, to, who, note, signature_id=sig, override=override)
            except DomainError as err:
                assert err.status in (403, 404, 409, 422), err
                db.session.expire_all()
                assert self.batch.version == before, "a refused move changed the batch"
                return
            if to in ("QC_PASSED", "QP_REVIEW"):
                self.qc_passed_moves.append((self.batch.version, qc["status"]))

        @rule(data=st.data())
        def someone_takes_an_offered_action(self, data):
            """What a person does from the page: an action offered to them (note and signature
            given), mostly onward, so random walks get through QC, release and dispatch."""
            ctx = batches.batch_context(self.batch)
            override = bool(app.config["ALLOW_ADMIN_OVERRIDE"])
            pairs = [
                (people[r], a)
                for r in ROLES
                for a in batch_flow.allowed_actions(ctx, people[r].roles, allow_admin_override=override)
            ]
            onward = [p for p in pairs if p[1].to_status in MAIN_PATH]
            pool = onward if onward and data.draw(st.integers(0, 3)) else pairs
            if not pool:
                return
            # An index over a fixed range, not sampled_from(pool): the pool is read from the
            # database, and hypothesis refuses strategies whose shape changes between replays.
            who, action = pool[data.draw(st.integers(0, 10**6)) % len(pool)]
            sig = qp_signature(self.batch, who) if action.needs_signature else None
            batches.transition_batch(
                self.batch.id,
                action.to_status,
                who,
                "As offered.",
                signature_id=sig,
                override=action.is_override,
            )
            if action.to_status in ("QC_PASSED", "QP_REVIEW"):
                self.qc_passed_moves.append((self.batch.version, qc["status"]))

        @invariant()
        def status_is_the_last_status_event(self):
            statuses = [e[1] for e in _events(self.batch.id) if e[1]]
            assert self.batch.status == statuses[-1]
            assert self.batch.version == len(statuses)

        @invariant()
        def nothing_leaves_without_a_release_and_no_block_since(self):
            cleared = False
            previous = None
            for _id, to, _at, _note, signature, _v in (e for e in _events(self.batch.id) if e[1]):
                if to == "RELEASED" or (previous == "ON_HOLD" and to in POST_RELEASE):
                    assert signature is not None, "a release needs the QP's signature"
                    cleared = True
                elif to in BLOCKING_STATES:
                    cleared = False
                if to in DOWNSTREAM_STATES:
                    assert cleared, f"{to} reached without a release since the last block"
                previous = to

        @invariant()
        def final_states_never_change(self):
            statuses = [e[1] for e in _events(self.batch.id) if e[1]]
            finals = [i for i, s in enumerate(statuses) if s in FINAL_STATES]
            assert not finals or finals[0] == len(statuses) - 1

        @invariant()
        def qc_passed_only_with_a_passed_session(self):
            assert all(status == "QC_PASSED" for _v, status in self.qc_passed_moves)

        @invariant()
        def events_are_append_only_and_in_time_order(self):
            now = _events(self.batch.id)
            assert now[: len(self.seen)] == self.seen, "an earlier event changed or vanished"
            times = [e[2] for e in now]
            assert times == sorted(times)
            self.seen = now

        @invariant()
        def derived_fields_equal_the_replayed_history(self):
            d = derive_history([e[1] for e in _events(self.batch.id) if e[1]])
            b = self.batch
            assert (b.qc_status, b.qp_disposition, b.shipment_status, b.status_before_exception) == (
                d.qc_status,
                d.qp_disposition,
                d.shipment_status,
                d.status_before_exception,
            )

        def teardown(self):
            app.config["ALLOW_ADMIN_OVERRIDE"] = False

    return BatchJourney


@pytest.mark.filterwarnings("ignore")
def test_random_buttons_by_random_roles_keep_the_batch_story_true(app_ctx, monkeypatch):
    machine = build_machine(app_ctx, monkeypatch)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )

"""Batch services on the real database: numbering, events and audit, derived fields, deviations,
signatures, overrides, the QC gate hook and the append-only event log."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.audit.models import AuditLog
from app.batches import queries as batch_queries
from app.batches import service as batches
from app.batches.domain.fields import derive_history
from app.batches.models import BatchEvent, Deviation
from app.core.domain import DomainError
from app.notifications.models import Notification
from tests.batch_factories import actor, batch_in, new_batch, qp_signature

NOTE = "Checked with the shift lead."


def events(batch_id: int) -> list[BatchEvent]:
    from app.core.extensions import db

    return list(
        db.session.execute(
            select(BatchEvent)
            .where(BatchEvent.batch_id == batch_id)
            .order_by(BatchEvent.occurred_at, BatchEvent.id)
        ).scalars()
    )


def audit_rows(batch_id: int) -> list[AuditLog]:
    from app.core.extensions import db

    return list(
        db.session.execute(
            select(AuditLog)
            .where(AuditLog.entity_type == "Batch", AuditLog.entity_id == str(batch_id))
            .order_by(AuditLog.id)
        ).scalars()
    )


@pytest.fixture(autouse=True)
def _qc_passed(monkeypatch):
    monkeypatch.setattr(batches.qc_hooks, "qc_session_status", lambda batch: "QC_PASSED")


def walk(batch, *steps):
    for dest, role in steps:
        sig = qp_signature(batch) if role == "QP" else None
        batches.transition_batch(batch.id, dest, actor(role), NOTE, signature_id=sig)
    return batch


FULL_PATH = (
    ("SCHEDULED", "Planner"),
    ("IN_PRODUCTION", "Production"),
    ("PRODUCTION_COMPLETE", "Production"),
    ("QC_IN_PROGRESS", "QC Analyst"),
    ("QC_PASSED", "QC Reviewer"),
    ("QP_REVIEW", "QP"),
    ("RELEASED", "QP"),
    ("DISPENSING_IN_PROGRESS", "Dispensing"),
    ("DISPENSED", "Dispensing"),
    ("PACKED", "Logistics"),
    ("DISPATCHED", "Logistics"),
    ("CLOSED", "Logistics"),
)


# --- creation ----------------------------------------------------------------------------------
def test_batch_numbers_count_per_product_and_site_local_day(app_ctx):
    # 22:30 UTC on the 21st is 01:30 on the 22nd in Riyadh: the site's day names the batch.
    late = dt.datetime(2026, 11, 21, 22, 30, tzinfo=dt.UTC)
    a = new_batch("FDG", start=late)
    b = new_batch("FDG", start=late + dt.timedelta(hours=2))
    c = new_batch("NAF", start=late)
    d = new_batch("FDG", start=late - dt.timedelta(hours=1))  # 00:30 local: still the 22nd
    e = new_batch("FDG", start=late - dt.timedelta(hours=4))  # 21:30 local on the 21st
    assert [a.batch_no, b.batch_no, c.batch_no, d.batch_no, e.batch_no] == [
        "FDG-20261122-01",
        "FDG-20261122-02",
        "NAF-20261122-01",
        "FDG-20261122-03",
        "FDG-20261121-01",
    ]


def test_creation_writes_the_planned_event_the_audit_row_and_derived_fields(app_ctx):
    batch = new_batch(planned_activity_mbq="185000", hot_cell_code="HC-1", customer_codes=("KFSH",))
    [event] = [e for e in events(batch.id) if e.to_status]  # the QC module may add its own line
    assert (event.to_status, event.title, event.actor_role, event.batch_version) == (
        "PLANNED",
        "Batch Planned",
        "Planner",
        0,
    )
    assert [r.action for r in audit_rows(batch.id)] == ["CREATE"]
    assert (batch.status, batch.qc_status, batch.qp_disposition, batch.version) == (
        "PLANNED",
        "NOT_STARTED",
        None,
        1,
    )
    assert float(batch.planned_activity_mbq) == 185000.0 and [c.code for c in batch.customers] == ["KFSH"]


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"planned_activity_mbq": -5}, "planned_activity_mbq"),
        ({"planned_activity_mbq": "lots"}, "planned_activity_mbq"),
        ({"hot_cell_code": "HC-99"}, "hot_cell_code"),
        ({"customer_codes": ("NOPE",)}, "customer_code"),
    ],
)
def test_creation_refuses_bad_input_with_the_field_named(app_ctx, kw, field):
    with pytest.raises(DomainError) as err:
        new_batch(**kw)
    assert err.value.status == 422 and field in err.value.details["fields"]


def test_unknown_product_and_reversed_window_are_422(app_ctx):
    with pytest.raises(DomainError) as err:
        new_batch("XYZ")
    assert err.value.status == 422
    start = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    with pytest.raises(DomainError) as err:
        batches.create_batch("FDG", start, start - dt.timedelta(minutes=1), actor=actor("Planner"))
    assert err.value.status == 422 and "planned_end_at" in err.value.details["fields"]


# --- transitions -------------------------------------------------------------------------------
def test_full_path_writes_one_event_and_one_audit_row_per_move_and_keeps_fields_consistent(app_ctx):
    batch = walk(new_batch(), *FULL_PATH)
    evs = [e for e in events(batch.id) if e.to_status]
    statuses = [e.to_status for e in evs]
    assert statuses == [
        "PLANNED",
        "SCHEDULED",
        "IN_PRODUCTION",
        "PRODUCTION_COMPLETE",
        "QC_PENDING",
        "QC_IN_PROGRESS",
        "QC_PASSED",
        "QP_REVIEW",
        "RELEASED",
        "DISPENSING_IN_PROGRESS",
        "DISPENSED",
        "PACKED",
        "DISPATCHED",
        "CLOSED",
    ]
    assert len(audit_rows(batch.id)) == len(evs)
    assert [e.batch_version for e in evs] == list(range(len(evs)))
    derived = derive_history(statuses)
    assert (batch.qc_status, batch.qp_disposition, batch.shipment_status) == (
        derived.qc_status,
        derived.qp_disposition,
        derived.shipment_status,
    )
    assert batch.actual_start_at and batch.actual_end_at and batch.released_at
    release = next(e for e in evs if e.to_status == "RELEASED")
    assert release.signature_id is not None and release.actor_role == "QP"


def test_completing_production_moves_on_to_qc_pending_by_the_system(app_ctx):
    batch = batch_in("IN_PRODUCTION")
    batches.transition_batch(
        batch.id, "PRODUCTION_COMPLETE", actor("Production"), metadata={"actual_yield_mbq": 176400}
    )
    complete, pending = events(batch.id)[-2:]
    assert (complete.to_status, complete.actor_name, complete.actor_role) == (
        "PRODUCTION_COMPLETE",
        "Lina Saleh",
        "Production",
    )
    assert (pending.to_status, pending.actor_user_id, pending.actor_role, pending.title) == (
        "QC_PENDING",
        None,
        "System",
        "Sent to QC",
    )
    assert batch.status == "QC_PENDING" and float(batch.actual_yield_mbq) == 176400.0
    assert [r.actor_name for r in audit_rows(batch.id)][-2:] == ["Lina Saleh", "System"]


def test_hold_and_lift_return_to_the_state_the_batch_was_in(app_ctx):
    batch = batch_in("DISPENSING_IN_PROGRESS")
    batches.transition_batch(batch.id, "ON_HOLD", actor("QP"), "Sterility filter integrity test failed")
    assert (batch.status_before_exception, batch.qp_disposition) == ("DISPENSING_IN_PROGRESS", "ON_HOLD")
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "DISPENSED", actor("Dispensing"), NOTE)
    assert err.value.code == "BATCH_BLOCKED"
    with pytest.raises(DomainError) as err:  # back into released states needs the signature again
        batches.transition_batch(batch.id, "DISPENSING_IN_PROGRESS", actor("QP"), NOTE)
    assert err.value.code == "SIGNATURE_REQUIRED"
    batches.transition_batch(
        batch.id, "DISPENSING_IN_PROGRESS", actor("QP"), "Retest passed", signature_id=qp_signature(batch)
    )
    assert (batch.status, batch.status_before_exception, batch.qp_disposition) == (
        "DISPENSING_IN_PROGRESS",
        None,
        "RELEASED",
    )


def test_stale_version_is_a_conflict_and_writes_nothing(app_ctx):
    batch = batch_in("SCHEDULED")
    before = len(events(batch.id))
    with pytest.raises(DomainError) as err:
        batches.transition_batch(
            batch.id, "IN_PRODUCTION", actor("Production"), expected_version=batch.version - 1
        )
    assert (err.value.code, err.value.status) == ("CONFLICT", 409)
    assert len(events(batch.id)) == before


def test_unknown_target_status_is_422_and_missing_batch_is_404(app_ctx):
    batch = batch_in("SCHEDULED")
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "LAUNCHED", actor("Production"))
    assert err.value.status == 422
    with pytest.raises(DomainError) as err:
        batches.transition_batch(10**9, "IN_PRODUCTION", actor("Production"))
    assert err.value.status == 404


# --- signatures --------------------------------------------------------------------------------
def test_signature_must_be_the_signers_own_for_this_batch_and_used_once(app_ctx):
    batch = batch_in("QP_REVIEW")
    other = batch_in("QP_REVIEW")
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "RELEASED", actor("QP"), signature_id=qp_signature(other))
    assert err.value.code == "SIGNATURE_REQUIRED"
    with pytest.raises(DomainError) as err:
        batches.transition_batch(
            batch.id, "RELEASED", actor("QP"), signature_id=qp_signature(batch, actor("admin"))
        )
    assert err.value.code == "SIGNATURE_REQUIRED"
    sig = qp_signature(batch)
    batches.transition_batch(batch.id, "RELEASED", actor("QP"), signature_id=sig)
    batches.transition_batch(batch.id, "ON_HOLD", actor("QP"), "Hold after release")
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "RELEASED", actor("QP"), NOTE, signature_id=sig)
    assert err.value.code == "SIGNATURE_REQUIRED" and "already used" in err.value.user_message


# --- deviations --------------------------------------------------------------------------------
def test_deviation_opens_and_closes_with_the_batch(app_ctx):
    batch = batch_in("QC_IN_PROGRESS")
    dev = batches.open_deviation(batch.id, "HPLC baseline drift during RCP run", actor("QC Analyst"))
    assert (batch.status, batch.status_before_exception, dev.status, dev.from_status) == (
        "DEVIATION_OPEN",
        "QC_IN_PROGRESS",
        "OPEN",
        "QC_IN_PROGRESS",
    )
    assert events(batch.id)[-1].event_type == "DEVIATION"
    with pytest.raises(DomainError) as err:
        batches.close_deviation(batch.id, dev.id, "", actor("QC Manager"))
    assert err.value.code == "NOTE_REQUIRED"
    with pytest.raises(DomainError) as err:
        batches.close_deviation(batch.id, dev.id, "Column replaced", actor("QC Analyst"))
    assert err.value.code == "FORBIDDEN"
    closed = batches.close_deviation(
        batch.id, dev.id, "Column replaced; system suitability passed", actor("QC Manager")
    )
    assert (closed.status, closed.closed_by_name, batch.status) == ("CLOSED", "Rami Aziz", "QC_IN_PROGRESS")
    with pytest.raises(DomainError):
        batches.close_deviation(batch.id, dev.id, "again", actor("QC Manager"))


def test_opening_a_deviation_needs_a_reason(app_ctx):
    batch = batch_in("IN_PRODUCTION")
    with pytest.raises(DomainError) as err:
        batches.open_deviation(batch.id, "  ", actor("Production"))
    assert (err.value.code, err.value.status) == ("NOTE_REQUIRED", 422)


def test_one_open_deviation_per_batch_is_enforced_by_the_database(app_ctx, db_session):
    batch = batch_in("IN_PRODUCTION")
    batches.open_deviation(batch.id, "Target pressure alarm", actor("Production"))
    with pytest.raises(DBAPIError), db_session.begin_nested():
        db_session.add(
            Deviation(batch_id=batch.id, reason="x", from_status="IN_PRODUCTION", opened_by_name="x")
        )
        db_session.flush()


# --- admin override ----------------------------------------------------------------------------
def test_admin_override_needs_the_switch_and_a_reason_and_is_marked(app_ctx, monkeypatch):
    batch = batch_in("SCHEDULED")
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "IN_PRODUCTION", actor("admin"), "Operator ill", override=True)
    assert err.value.code == "FORBIDDEN"
    monkeypatch.setitem(app_ctx.config, "ALLOW_ADMIN_OVERRIDE", True)
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "IN_PRODUCTION", actor("admin"), override=True)
    assert err.value.code == "NOTE_REQUIRED"
    batches.transition_batch(
        batch.id, "IN_PRODUCTION", actor("admin"), "Operator ill; started by admin", override=True
    )
    last = events(batch.id)[-1]
    assert (last.is_override, last.actor_role) == (True, "Admin")
    assert audit_rows(batch.id)[-1].action == "STATUS_OVERRIDE"


# --- QC gate -----------------------------------------------------------------------------------
def test_qc_pass_follows_the_qc_session_hook(app_ctx, monkeypatch):
    batch = batch_in("QC_IN_PROGRESS")
    monkeypatch.setattr(batches.qc_hooks, "qc_session_status", lambda b: None)
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "QC_PASSED", actor("QC Reviewer"))
    assert (err.value.code, err.value.status) == ("QC_NOT_PASSED", 409)
    monkeypatch.setattr(batches.qc_hooks, "qc_session_status", lambda b: "WAITING_REVIEW")
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "QC_PASSED", actor("QC Reviewer"))
    assert err.value.code == "QC_NOT_PASSED"
    monkeypatch.setattr(batches.qc_hooks, "qc_session_status", lambda b: "QC_PASSED")
    batches.transition_batch(batch.id, "QC_PASSED", actor("QC Reviewer"))
    assert batch.status == "QC_PASSED"


# --- record_event and notifications -----------------------------------------------------------
def test_record_event_adds_a_timeline_line_without_changing_status(app_ctx, db_session):
    batch = batch_in("QC_IN_PROGRESS")
    batches.record_event(
        batch, "QC", "QC Results Submitted", actor("QC Analyst"), note="8/8 tests", metadata={"session": 1}
    )
    db_session.commit()
    last = events(batch.id)[-1]
    assert (last.event_type, last.to_status, last.batch_version, last.meta) == (
        "QC",
        None,
        None,
        {"session": 1},
    )
    assert batch.status == "QC_IN_PROGRESS"
    with pytest.raises(ValueError):
        batches.record_event(batch, "STATUS_CHANGE", "x", actor("QC Analyst"))


def test_moves_that_matter_notify_the_people_who_act_next(app_ctx, db_session):
    batch = batch_in("IN_PRODUCTION")
    batches.transition_batch(batch.id, "PRODUCTION_COMPLETE", actor("Production"))
    kinds = db_session.execute(
        select(Notification.kind, func.count())
        .where(Notification.entity_id == str(batch.id))
        .group_by(Notification.kind)
    ).all()
    assert dict(kinds).get("BATCH_QC_PENDING", 0) >= 1


# --- the event log is append-only --------------------------------------------------------------
@pytest.mark.parametrize(
    "statement",
    ["UPDATE batch_event SET note = 'x'", "DELETE FROM batch_event", "TRUNCATE batch_event CASCADE"],
)
def test_batch_events_refuse_update_delete_truncate(app_ctx, db_session, statement):
    new_batch()
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(text(statement))


def test_two_status_events_from_the_same_version_cannot_both_exist(app_ctx, db_session):
    batch = batch_in("SCHEDULED")
    with pytest.raises(DBAPIError), db_session.begin_nested():
        for _ in range(2):
            db_session.add(
                BatchEvent(
                    batch_id=batch.id,
                    event_type="STATUS_CHANGE",
                    title="x",
                    from_status="SCHEDULED",
                    to_status="IN_PRODUCTION",
                    batch_version=batch.version,
                    actor_name="x",
                    actor_role="x",
                )
            )
        db_session.flush()


# --- reading -----------------------------------------------------------------------------------
def test_detail_has_milestones_next_step_and_actions_for_the_caller(app_ctx):
    batch = batch_in("QP_REVIEW")
    detail = batch_queries.batch_detail(batch.id, actor("QP"))
    assert [m["state"] for m in detail["milestones"]][:5] == ["done", "done", "done", "current", "pending"]
    assert detail["milestones"][4]["blocked_reason"] == "Blocked: QP Release pending"
    assert detail["next_step"]["title"] == "Release batch" and detail["next_step"]["you_can"]
    assert [a["trigger"] for a in detail["allowed_actions"]] == ["release", "hold", "reject"]
    assert batch_queries.batch_detail(batch.id, actor("Dispensing"))["allowed_actions"] == []
    assert detail["dose_units"] == {"planned": 0, "dispensed": 0, "packed": 0, "shipped": 0, "cancelled": 0}


def test_linking_a_hospital_lets_its_users_see_the_batch(app_ctx, db_session):
    from app.masterdata.models import Customer

    batch = new_batch()
    hospital = actor("hospital")
    with pytest.raises(DomainError):
        batch_queries.get_visible(batch.id, hospital)
    kfsh = db_session.execute(select(Customer).where(Customer.code == "KFSH")).scalar_one()
    batches.link_customers(batch, [kfsh.id, kfsh.id])  # twice: still one link
    db_session.commit()
    assert batch_queries.get_visible(batch.id, hospital).id == batch.id


def test_each_move_s_audit_after_is_the_batch_as_it_was_written(app_ctx, db_session):
    """The audit row's `after` is built from the snapshot before the move and what the move wrote
    (issue 16); it must equal a fresh snapshot of the batch read back from the database, through
    stamps (production start and end), the recorded yield, the automatic follow-up move, QC and an
    exception state with its remembered status."""
    from app.core.extensions import db

    batch = batch_in("SCHEDULED")
    steps = [
        ("IN_PRODUCTION", "Production", None, None),
        ("PRODUCTION_COMPLETE", "Production", None, {"actual_yield_mbq": "41250.5"}),
        ("QC_IN_PROGRESS", "QC Analyst", None, None),
        ("FAILED_QC", "QC Analyst", "Sterility out of limits", None),
    ]
    for to_status, role, note, metadata in steps:
        batches.transition_batch(batch.id, to_status, actor(role), note, metadata)
        db.session.expire_all()
        fresh = batches._state_snapshot(db.session.get(type(batch), batch.id))
        rows = db_session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "Batch", AuditLog.entity_id == str(batch.id))
            .where(AuditLog.action.in_(("STATUS_CHANGE", "STATUS_OVERRIDE")))
            .order_by(AuditLog.id.desc())
        ).all()
        assert rows[0].after == fresh, to_status
        if to_status == "PRODUCTION_COMPLETE":  # the automatic follow-up wrote the newest row
            assert rows[0].after["status"] == "QC_PENDING"
            manual = rows[1].after
            assert manual == {
                **fresh,
                "status": "PRODUCTION_COMPLETE",
                "version": fresh["version"] - 1,
                "qc_status": manual["qc_status"],
                "status_before_exception": None,
            }
            assert manual["actual_yield_mbq"] == "41250.5" and manual["actual_end_at"]
        else:
            assert rows[0].after["status"] == to_status

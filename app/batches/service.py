"""Batch lifecycle actions: create a batch, move it, record events, open and close deviations.

Rules enforced here (the state rules themselves are in `app.batches.domain.flow`):
- every status change goes through `apply_transition`: the machine decides, then exactly one
  BatchEvent and one audit row are written in the same transaction as the change (the batch update
  and the event in one statement, the event's seal and the audit row in one INSERT: issue 16);
- the committing actions (`create_batch`, `transition_batch`, `open_deviation`, `close_deviation`)
  lock the batch row, commit once, and roll back on any refusal;
- two concurrent moves of one batch: one wins, the other gets 409 CONFLICT (the row lock taken
  NOWAIT, the version the page saw, and a unique index on (batch, version) as the last defence);
- completing production moves on to QC_PENDING at once, as a second event by the System actor.

`apply_transition` and `record_event` do not commit: the QC and release modules call them inside
their own transactions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from flask import current_app
from sqlalchemy import Select, TextClause, bindparam, exists, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from app.audit import chain as audit_chain
from app.audit import service as audit
from app.batches import hooks as qc_hooks
from app.batches import inputs
from app.batches.domain import expiry as batch_expiry
from app.batches.domain import fields as batch_fields
from app.batches.domain import flow as batch_flow
from app.batches.domain.states import STATES, label
from app.batches.models import EVENT_TYPES, Batch, BatchEvent, BatchNumberCounter, Deviation, batch_customer
from app.batches.notify import notify_after_move
from app.core import clock, sql
from app.core.actor import SYSTEM, Actor
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.core.lengths import _check_row as check_lengths
from app.core.tracing import current_trace_id
from app.masterdata.models import Customer, Product, Site
from app.security.models import ESignature


# --- seeding past days ------------------------------------------------------------------------
@contextmanager
def recorded_at(start: dt.datetime, step: dt.timedelta = dt.timedelta(seconds=30)):
    """For seeding past days only (seeds, test factories): batch events written inside the block
    are stamped start, start + step, ... instead of the database clock, the batch's own times follow,
    and every other record written meanwhile (audit rows, signatures, QC records) carries the time of
    the event it goes with (`app.core.clock.frozen`). Requests never use it."""
    with clock.frozen(start, step):
        yield


def _history_time() -> dt.datetime | None:
    return clock.tick()


# --- create ------------------------------------------------------------------------------------
def create_batch(
    product_code: str,
    planned_start_at: dt.datetime,
    planned_end_at: dt.datetime,
    *,
    actor: Actor,
    site_code: str | None = None,
    hot_cell_code: str | None = None,
    planned_activity_mbq: Any = None,
    owner_id: int | None = None,
    customer_codes: tuple[str, ...] = (),
    note: str | None = None,
    commit: bool = True,
) -> Batch:
    """Plan a batch (status PLANNED) with its number, creation event, audit row and QC session.

    Rule: the batch number is product code + site-local day of the planned start + a sequence
    (FDG-20261122-01), taken from an atomic counter so concurrent creations never collide.
    With `commit=False` it is one step of the caller's act (the planner's batch plan): it only
    flushes, and a failure leaves the rollback to the caller, so a failed act leaves no batch,
    number or audit row behind.
    """
    try:
        product = inputs.active(Product, code=product_code, what="product")
        site = inputs.site(site_code)
        hot_cell = inputs.hot_cell(site, hot_cell_code)
        customers = [inputs.active(Customer, code=c, what="customer") for c in customer_codes]
        start, end = (
            inputs.utc(planned_start_at, "planned_start_at"),
            inputs.utc(planned_end_at, "planned_end_at"),
        )
        if end < start:
            raise ValidationFailed(
                "The planned end is before the planned start.", {"planned_end_at": ["Before the start."]}
            )
        activity = inputs.activity(planned_activity_mbq)
        derived = batch_fields.derive("PLANNED", None, None)
        batch = Batch(
            batch_no=_next_batch_no(product, site, start),
            product_id=product.id,
            site_id=site.id,
            hot_cell_id=hot_cell.id if hot_cell else None,
            owner_id=owner_id or actor.user_id,
            created_by_id=actor.user_id,
            planned_start_at=start,
            planned_end_at=end,
            planned_activity_mbq=activity,
            version=1,
            **_derived_columns(derived),
        )
        batch.customers = customers
        at = _history_time()
        if at is not None:
            batch.created_at = batch.updated_at = at
        db.session.add(batch)
        db.session.flush()
        db.session.add(
            _event(
                batch,
                "STATUS_CHANGE",
                "Batch Planned",
                actor,
                _role(actor, "Planner"),
                note=inputs.note(note),
                from_status=None,
                to_status="PLANNED",
                batch_version=0,
                occurred_at=at,
            )
        )
        audit.record(
            "Batch", batch.id, "CREATE", after=audit.snapshot(batch), reason=inputs.note(note), actor=actor
        )
        qc_hooks.on_batch_created(batch)
        if commit:
            db.session.commit()
        else:
            db.session.flush()
    except Exception:
        if commit:
            db.session.rollback()
        raise
    return batch


def _next_batch_no(product: Product, site: Site, start: dt.datetime) -> str:
    day = start.astimezone(ZoneInfo(site.timezone or current_app.config["SITE_TIMEZONE"])).date()
    stmt = pg_insert(BatchNumberCounter).values(product_id=product.id, day=day, last_seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["product_id", "day"], set_={"last_seq": BatchNumberCounter.last_seq + 1}
    ).returning(BatchNumberCounter.last_seq)
    seq = db.session.execute(stmt).scalar_one()
    return f"{product.code.upper()}-{day:%Y%m%d}-{seq:02d}"


# --- transition --------------------------------------------------------------------------------
def transition_batch(
    batch_id: int,
    to_status: str,
    actor: Actor,
    note: str | None = None,
    metadata: dict | None = None,
    *,
    signature_id: int | None = None,
    override: bool = False,
    expected_version: int | None = None,
) -> Batch:
    """Move a batch to `to_status` for `actor`, committing one event and one audit row.

    Rule: the move must be in the transition table for the batch's state and the actor's role
    (see batch_flow). A request that meets another move of the same batch in flight (its row
    lock is held), or that was decided on another version than the current one (`expected_version`
    from the page), is refused with 409 CONFLICT rather than applied to a state the requester
    never saw; a request arriving after the other committed is judged on the new state.
    """
    if to_status not in STATES:
        raise ValidationFailed(f"Unknown status {to_status!r}.", {"to_status": ["Not a batch status."]})
    try:
        batch = lock_batch(batch_id, nowait=True)
        if expected_version is not None and batch.version != expected_version:
            raise _conflict(batch)
        apply_transition(
            batch, to_status, actor, note, metadata, signature_id=signature_id, override=override
        )
        db.session.commit()
    except (IntegrityError, OperationalError) as err:
        db.session.rollback()
        if isinstance(err.orig, psycopg.errors.LockNotAvailable) or (
            "uq_batch_event_one_move_per_version" in str(err.orig)
        ):
            raise _conflict(None) from err
        raise
    except Exception:
        db.session.rollback()
        raise
    return batch


# The lock is one of the four statements of every move (issue 16): it runs through the lean executor
# (app.core.sql, compiled once) and the row becomes the session's Batch as if an ORM query had loaded
# it with populate_existing (the ORM query's own Python cost more than the locked read itself).
_BATCH = Batch.__table__
_BATCH_ATTRS = tuple(Batch.__mapper__.get_property_by_column(c).key for c in _BATCH.c)


@functools.cache
def _batch_relationships() -> tuple[str, ...]:
    return tuple(r.key for r in Batch.__mapper__.relationships)  # after the mappers are configured


def _lock_select(nowait: bool) -> Select:
    return select(*_BATCH.c).where(_BATCH.c.id == bindparam("batch_id")).with_for_update(nowait=nowait)


def lock_batch(batch_id: int, *, nowait: bool = False) -> Batch:
    """The batch row, locked until commit (cross-process races need the database).

    `nowait`: fail at once (LockNotAvailable) instead of queueing behind a move in flight.
    The session's Batch (the one it already holds, or a new one) carries the row as locked.
    """
    session = db.session()
    if session.autoflush:  # as a query would: changes made before the lock are written first
        session.flush()
    rows = sql.execute(  # plain tuples: `_as_loaded` reads the columns by position
        ("batch.lock", nowait), functools.partial(_lock_select, nowait), {"batch_id": batch_id}, plain=True
    )
    if not rows:
        raise NotFound("batch")
    return _as_loaded(session, rows[0])


def _as_loaded(session: Any, row: Any) -> Batch:
    """The session's Batch for this row: refreshed from it (populate_existing), or made persistent as
    if loaded (no SQL; relationships load lazily on first use, as after a query)."""
    values = dict(zip(_BATCH_ATTRS, row, strict=True))
    key = Batch.__mapper__.identity_key_from_primary_key((values["id"],))
    batch = session.identity_map.get(key)
    if batch is not None:
        for attr, value in values.items():
            set_committed_value(batch, attr, value)
        loaded = [r for r in _batch_relationships() if r in instance_dict(batch)]
        if loaded:  # populate_existing resets them too: they load again on next use
            session.expire(batch, loaded)
        return batch
    batch = Batch()
    instance_dict(batch).update(values)
    make_transient_to_detached(batch)  # every column committed, as loaded
    session.add(batch)
    return batch


def _conflict(batch: Batch | None) -> DomainError:
    now = f" It is now {label(batch.status)}." if batch is not None else ""
    return DomainError("CONFLICT", f"The batch was changed by someone else.{now} Reload and try again.", 409)


def apply_transition(
    batch: Batch,
    to_status: str,
    actor: Actor,
    note: str | None = None,
    metadata: dict | None = None,
    *,
    signature_id: int | None = None,
    override: bool = False,
    system: bool = False,
) -> BatchEvent:
    """Apply one move inside the caller's transaction (never commits); returns its event.

    Rule: the domain machine decides (role, guards, note, signature); then the status and the
    fields derived from it change, one BatchEvent and one audit row are written, deviations open
    or close with the move, and notifications are queued. `system=True` is for automatic
    consequences of another authorised action (recorded in the System role).
    """
    note = inputs.note(note)
    metadata = inputs.metadata(metadata)
    ctx, row = _decide(batch, to_status, actor, note, signature_id, override, system)
    is_override = batch_flow.is_override(ctx, row)
    source, before = batch.status, _state_snapshot(batch)
    at = _history_time()
    now = at or dt.datetime.now(dt.UTC)
    check_not_expired(batch, to_status, now)
    changes = _status_changes(batch, source, to_status, metadata, now)
    event = _event(
        batch,
        "DEVIATION" if "DEVIATION_OPEN" in (source, to_status) else "STATUS_CHANGE",
        row.title,
        actor,
        batch_flow.acting_role(ctx, row),
        note=note,
        metadata=metadata,
        from_status=source,
        to_status=to_status,
        batch_version=batch.version,
        is_override=is_override,
        occurred_at=at,
        signature_id=signature_id,
    )
    sealed = _write_move(batch, event, changes, now)
    _follow_deviation(batch, source, to_status, actor, note, now)
    audit.record(
        "Batch",
        batch.id,
        "STATUS_OVERRIDE" if is_override else "STATUS_CHANGE",
        before=before,
        after=_snapshot_after(before, changes),
        reason=note,
        actor=actor,
        signature_id=signature_id,
        sealed=(sealed,),
    )
    notify_after_move(batch, source, to_status, actor, note)
    auto = batch_flow.automatic_move(to_status)
    if auto is not None:
        apply_transition(
            batch,
            auto.dest,
            SYSTEM,
            metadata={"automatic": True, "after": row.title},
            system=True,
        )
    return event


def _decide(
    batch: Batch,
    to_status: str,
    actor: Actor,
    note: str | None,
    signature_id: int | None,
    override: bool,
    system: bool,
) -> tuple[batch_flow.TransitionContext, batch_flow.Transition]:
    """The domain machine's verdict on the move (role, guards, note, signature)."""
    ctx = batch_flow.TransitionContext(
        batch=batch_context(batch),
        roles=actor.roles,
        note=note,
        has_signature=signature_id is not None,
        override=override,
        allow_admin_override=bool(current_app.config.get("ALLOW_ADMIN_OVERRIDE")),
        system=system,
    )
    row = batch_flow.decide(ctx, to_status)
    # A move that needs a signature must carry one; a signed move that does not need one (a QP's
    # hold after release) keeps it too, so the timeline and the audit row show who signed it.
    if row.needs_signature or signature_id is not None:
        _check_signature(signature_id, batch, actor)
    return ctx, row


def _status_changes(
    batch: Batch, source: str, to_status: str, metadata: dict | None, now: dt.datetime
) -> dict[str, Any]:
    """The status and every field that follows from it (qc_status, qp_disposition, ...), the time
    stamp of the step it reaches (the first time), and the yield recorded when production completes."""
    derived = batch_fields.derive(to_status, source, _current_derived(batch))
    changes = _derived_columns(derived)
    stamp = batch_fields.STAMPS.get(to_status)
    if stamp and getattr(batch, stamp) is None:
        changes[stamp] = now
    if to_status == "PRODUCTION_COMPLETE" and metadata and "actual_yield_mbq" in metadata:
        changes["actual_yield_mbq"] = inputs.activity(metadata["actual_yield_mbq"], field="actual_yield_mbq")
    return changes


# The move's two writes in one statement: the batch row, only from the version the move was decided
# on, and its event, which comes back with its id, its time and the row as the database stores it
# (`row_to_json`, the text the audit seal hashes; app.audit.coverage). The derived columns are always
# set (only this module writes them, and each change bumps the version); a stamp or the yield only
# when the move sets it. No event is written when the batch row was not updated.
# The statement also takes the audit chain's lock and reads its head once the event is written (the
# transition's audit rows come next): `audit_chain_head()` (migration 0019) is joined to the written
# event, so no event means no lock, and the head it returns goes to app.audit.chain.locked_with_head.
_DERIVED = tuple(f.name for f in dataclasses.fields(batch_fields.Derived))  # the columns of that name


@functools.cache
def _move_sql(extras: tuple[str, ...]) -> TextClause:
    sets = ", ".join(f"{c} = :{c}" for c in (*_DERIVED, *extras))
    return text(
        f"""
        WITH moved AS (
            UPDATE batch SET {sets}, version = :batch_version + 1, updated_at = :updated_at
             WHERE id = :batch_id AND version = :batch_version
            RETURNING id
        ), written AS (
            INSERT INTO batch_event AS e (batch_id, event_type, title, from_status, to_status, batch_version,
                                          actor_user_id, actor_name, actor_role, occurred_at, note, metadata,
                                          trace_id, is_override, signature_id)
            SELECT moved.id, :event_type, :title, :from_status, :to_status, CAST(:batch_version AS integer),
                   CAST(:actor_user_id AS integer), :actor_name, :actor_role,
                   coalesce(CAST(:occurred_at AS timestamptz), pg_catalog.clock_timestamp()), :note,
                   CAST(:meta AS jsonb), :trace_id, CAST(:is_override AS boolean), CAST(:signature_id AS bigint)
              FROM moved
            RETURNING e.id, e.occurred_at, pg_catalog.row_to_json(e)::text AS j
        )
        SELECT written.id, written.occurred_at, written.j, head.head_id, head.head_hash, head.head_alg
          FROM written
         CROSS JOIN LATERAL (SELECT * FROM audit_chain_head() WHERE written.id IS NOT NULL) AS head
        """
    ).bindparams(bindparam("meta", type_=JSONB))


def _write_move(
    batch: Batch, event: BatchEvent, changes: dict[str, Any], now: dt.datetime
) -> tuple[str, int, str]:
    """Write the move (see `_move_sql`); the batch and the event then read as if loaded after it.

    Returns what the audit seal of the event needs: ("batch_event", id, row_to_json text)."""
    session = db.session()
    session.flush()  # what the caller changed before the move is written first, as before
    check_lengths(event)  # the guard the flush applied to the event (app.core.lengths)
    event.is_override = bool(event.is_override)
    extras = tuple(sorted(k for k in changes if k not in _DERIVED))
    params = {
        **changes,
        "batch_id": batch.id,
        "batch_version": batch.version,
        "updated_at": now,
        "event_type": event.event_type,
        "title": event.title,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_user_id": event.actor_user_id,
        "actor_name": event.actor_name,
        "actor_role": event.actor_role,
        "occurred_at": event.occurred_at,
        "note": event.note,
        "meta": event.meta,
        "trace_id": event.trace_id,
        "is_override": event.is_override,
        "signature_id": event.signature_id,
    }
    conn = session.connection()
    rows = sql.execute(
        ("batch.move", extras), functools.partial(_move_sql, extras), params, connection=conn, plain=True
    )
    if not rows:  # the row was moved by someone else since it was read
        raise _conflict(None)
    event_id, occurred_at, event_json, head_id, head_hash, head_alg = rows[0]  # _move_sql's columns
    audit_chain.locked_with_head(session, conn, head_id, head_hash, head_alg)
    for column, value in (*changes.items(), ("version", batch.version + 1), ("updated_at", now)):
        set_committed_value(batch, column, value)
    event.id, event.occurred_at = event_id, occurred_at
    make_transient_to_detached(event)  # persistent, as if loaded: callers read event.id
    session.add(event)
    return ("batch_event", event_id, event_json)


def batch_expires_at(batch: Batch) -> dt.datetime | None:
    """End of synthesis + the product's shelf life (UTC), None before the synthesis has ended."""
    product = batch.product or db.session.get(Product, batch.product_id)
    return batch_expiry.expires_at(batch.actual_end_at, product.shelf_life_min if product else None)


def check_not_expired(batch: Batch, to_status: str, now: dt.datetime | None = None) -> None:
    """409 EXPIRED for a release or downstream move of a batch past its shelf life (see domain.expiry)."""
    if to_status not in batch_expiry.BLOCKED_AFTER_EXPIRY or batch.actual_end_at is None:
        return  # a move that can't be refused for expiry needs no shelf life (no product read)
    batch_expiry.check_not_expired(
        batch.batch_no,
        to_status,
        batch_expires_at(batch),
        now or dt.datetime.now(dt.UTC),
        current_app.config["SITE_TIMEZONE"],
    )


def batch_context(batch: Any) -> batch_flow.BatchContext:
    """What the rules need to know about this batch (the QC session only when a rule asks).

    `batch` is a Batch or any row with its id, status and status_before_exception.
    """
    qc_status = qc_hooks.qc_session_status(batch) if batch_flow.needs_qc_session(batch.status) else None
    return batch_flow.BatchContext(
        status=batch.status,
        status_before_exception=batch.status_before_exception,
        qc_session_status=qc_status,
    )


def batch_contexts(batches: list[Any]) -> dict[int, batch_flow.BatchContext]:
    """`batch_context` for many batches (a page of the list), reading their QC sessions in one query."""
    asks = [b.id for b in batches if batch_flow.needs_qc_session(b.status)]
    qc_statuses = qc_hooks.qc_session_statuses(asks) if asks else {}
    return {
        b.id: batch_flow.BatchContext(
            status=b.status,
            status_before_exception=b.status_before_exception,
            qc_session_status=qc_statuses.get(b.id),
        )
        for b in batches
    }


def _current_derived(batch: Batch) -> batch_fields.Derived:
    return batch_fields.Derived(
        status=batch.status,
        qc_status=batch.qc_status,
        qp_disposition=batch.qp_disposition,
        shipment_status=batch.shipment_status,
        status_before_exception=batch.status_before_exception,
        status_rank=batch.status_rank,
    )


def _derived_columns(d: batch_fields.Derived) -> dict[str, Any]:
    return {
        "status": d.status,
        "qc_status": d.qc_status,
        "qp_disposition": d.qp_disposition,
        "shipment_status": d.shipment_status,
        "status_before_exception": d.status_before_exception,
        "status_rank": d.status_rank,
    }


_SNAPSHOT = (
    "status",
    "qc_status",
    "qp_disposition",
    "shipment_status",
    "status_before_exception",
    "version",
    "actual_start_at",
    "actual_end_at",
    "released_at",
    "actual_yield_mbq",
)


def _state_snapshot(batch: Batch) -> dict[str, Any]:
    return {k: audit.jsonable(getattr(batch, k)) for k in _SNAPSHOT}


def _snapshot_after(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The snapshot after a move: `before` with what the move wrote (`changes`, and the version it
    bumped), without reading the batch's attributes again (tested equal to a fresh snapshot)."""
    after = {**before, "version": before["version"] + 1}
    for key, value in changes.items():
        if key in after:
            after[key] = audit.jsonable(value)
    return after


def _check_signature(signature_id: int | None, batch: Batch, actor: Actor) -> None:
    """A QP signature signs this batch, by this person, for one move only."""
    sig = db.session.get(ESignature, signature_id) if signature_id is not None else None
    if (
        sig is None
        or sig.scope != "BATCH_RELEASE"
        or sig.entity_type != "Batch"
        or sig.entity_id != str(batch.id)
        or sig.signer_id != actor.user_id
    ):
        raise DomainError(
            "SIGNATURE_REQUIRED", "This needs your own electronic signature for this batch.", 409
        )
    if db.session.execute(select(exists().where(BatchEvent.signature_id == sig.id))).scalar():
        raise DomainError("SIGNATURE_REQUIRED", "This signature was already used for another step.", 409)


def _follow_deviation(batch: Batch, source: str, dest: str, actor: Actor, note: str | None, now) -> None:
    """The deviation record opens and closes with the batch's DEVIATION_OPEN state."""
    if dest == "DEVIATION_OPEN":
        db.session.add(
            Deviation(
                batch_id=batch.id,
                reason=note,
                from_status=source,
                opened_by_id=actor.user_id,
                opened_by_name=actor.printed_name,
                opened_at=now,
            )
        )
    elif source == "DEVIATION_OPEN":
        db.session.execute(
            update(Deviation)
            .where(Deviation.batch_id == batch.id, Deviation.status == "OPEN")
            .values(
                status="CLOSED",
                closed_by_id=actor.user_id,
                closed_by_name=actor.printed_name,
                closed_at=now,
                closing_note=note,
            )
        )


# --- events ------------------------------------------------------------------------------------
def record_event(
    batch: Batch,
    event_type: str,
    title: str,
    actor: Actor,
    note: str | None = None,
    metadata: dict | None = None,
    *,
    role: str | None = None,
) -> BatchEvent:
    """Add a non-status line to the batch's timeline (QC result, dose unit ...), inside the caller's
    transaction. The caller writes its own audit row for the change it records.
    """
    if event_type not in EVENT_TYPES or event_type == "STATUS_CHANGE":
        raise ValueError(f"record_event takes a non-status event type, not {event_type!r}")
    event = _event(
        batch,
        event_type,
        title,
        actor,
        role or _role(actor),
        note=inputs.note(note),
        metadata=inputs.metadata(metadata),
    )
    batch.updated_at = event.occurred_at or dt.datetime.now(dt.UTC)
    db.session.add(event)
    return event


def _event(batch, event_type, title, actor, role, **kw) -> BatchEvent:
    occurred_at = kw.pop("occurred_at", None) or _history_time()
    event = BatchEvent(
        batch_id=batch.id,
        event_type=event_type,
        title=title,
        actor_user_id=actor.user_id,
        actor_name=actor.printed_name,
        actor_role=role,
        note=kw.pop("note", None),
        meta=kw.pop("metadata", None),
        trace_id=current_trace_id(),
        **kw,
    )
    if occurred_at is not None:
        event.occurred_at = occurred_at
    return event


def _role(actor: Actor, preferred: str | None = None) -> str:
    if preferred and preferred in actor.roles:
        return preferred
    return actor.roles[0] if actor.roles else "System"


# --- deviations --------------------------------------------------------------------------------
def open_deviation(
    batch_id: int, reason: str, actor: Actor, *, expected_version: int | None = None
) -> Deviation:
    """Open a deviation: the batch stops in DEVIATION_OPEN (reason required) until it is closed."""
    if not (reason or "").strip():
        raise DomainError("NOTE_REQUIRED", "Opening a deviation needs a reason.", 422)
    transition_batch(batch_id, "DEVIATION_OPEN", actor, reason, expected_version=expected_version)
    return db.session.execute(
        select(Deviation).where(Deviation.batch_id == batch_id, Deviation.status == "OPEN")
    ).scalar_one()


def close_deviation(batch_id: int, deviation_id: int, note: str, actor: Actor) -> Deviation:
    """Close the batch's open deviation with a note; the batch returns to where it was."""
    deviation = db.session.get(Deviation, deviation_id)
    if deviation is None or deviation.batch_id != batch_id:
        raise NotFound("deviation")
    if deviation.status != "OPEN":
        raise DomainError("TRANSITION_NOT_ALLOWED", "This deviation is already closed.", 409)
    if not (note or "").strip():
        raise DomainError("NOTE_REQUIRED", "Closing a deviation needs a closing note.", 422)
    transition_batch(batch_id, deviation.from_status, actor, note)
    db.session.refresh(deviation)
    return deviation


def link_customers(batch: Batch, customer_ids: list[int]) -> None:
    """Let these hospitals see the batch (inside the caller's transaction; orders will call this
    when an order is assigned to a batch)."""
    for customer_id in customer_ids:
        db.session.execute(
            pg_insert(batch_customer)
            .values(batch_id=batch.id, customer_id=customer_id)
            .on_conflict_do_nothing()
        )

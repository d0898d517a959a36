"""The batch lifecycle as data: states, the transition table, named guards and one shared machine.

Everything that decides whether a batch may move lives here, as pure Python over a context object
(no Flask, no SQLAlchemy), so the API, the pages, the QC and release modules and the tests all ask
the same question of the same table:

- `decide(ctx, to_status)` checks a requested move and fires it through the shared
  `transitions.Machine`; it returns the table row or raises `DomainError` with the exact code.
- `allowed_actions(batch_ctx, actor_roles)` lists what a user may do right now (the buttons).
- `next_step(batch_ctx)` names the step that moves the batch on ("What's next").

Stored fields that follow from the status are derived in `app.batches.domain.fields`.

Order of checks for a request (first refusal wins): a listed row exists (else BATCH_BLOCKED,
DISPENSING_BEFORE_RELEASE or TRANSITION_NOT_ALLOWED), the actor's role (FORBIDDEN; BATCH_BLOCKED
when a blocked batch is asked to go downstream), the row's guards (QC_NOT_PASSED, back to the
prior state), the note (NOTE_REQUIRED), then the e-signature (SIGNATURE_REQUIRED).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from transitions import Machine

from app.batches.domain.states import (
    ADMIN_ROLE,
    BLOCKING_STATES,
    DEVIATION_SOURCES,
    DISPENSING_STATES,
    DOWNSTREAM_STATES,
    FINAL_STATES,
    HOLDABLE,
    POST_RELEASE,
    QC_ROLES,
    STATE_LABELS,
    STATES,
    SYSTEM_ROLE,
    label,
)
from app.core.domain import DomainError


# --- The transition table ----------------------------------------------------------------------
@dataclass(frozen=True)
class Transition:
    trigger: str
    source: str
    dest: str
    roles: tuple[str, ...]
    label: str  # the button, e.g. "Start production"
    title: str  # the timeline entry, e.g. "Production Started"
    impact: str  # shown in the dialog, e.g. "This will unlock Dispensing."
    needs_note: bool = False
    needs_signature: bool = False
    guards: tuple[str, ...] = ()
    forward: bool = True  # on the way to CLOSED (drives "What's next"); False for exception moves

    @property
    def overridable(self) -> bool:
        """An admin override may stand in for an owner role, never for the QP or the system.

        GMP: hold, release, reject and lifting a hold are the QP's decisions alone.
        """
        return not self.needs_signature and SYSTEM_ROLE not in self.roles and "QP" not in self.roles


def _rows(
    trigger: str, sources: tuple[str, ...], dest: str, roles: tuple[str, ...], **kw
) -> list[Transition]:
    return [Transition(trigger, s, dest, roles, **kw) for s in sources]


def _return_guards(dest: str) -> tuple[str, ...]:
    """Leaving a hold or deviation goes back where the batch was; back into a QC-passed state only
    while its QC session still says passed (results may have been corrected or failed meanwhile)."""
    if dest in ("QC_PASSED", "QP_REVIEW"):
        return ("returns_to_prior_state", "qc_session_passed")
    return ("returns_to_prior_state",)


_HOLD: dict[str, Any] = {
    "label": "Put on hold",
    "title": "Batch Put On Hold",
    "impact": "Dispensing, packing and dispatch stay blocked until the QP lifts the hold.",
    "needs_note": True,
    "forward": False,
}

# One row per move; multi-source moves are expanded by _rows. Read it as a table:
# trigger, source, dest, roles, button label, timeline title, impact, flags, guards.
# fmt: off
TRANSITIONS: tuple[Transition, ...] = (
    Transition("schedule", "PLANNED", "SCHEDULED", ("Planner",), "Schedule batch", "Batch Scheduled",
               "Production can start at the planned time."),
    Transition("start_production", "SCHEDULED", "IN_PRODUCTION", ("Production",), "Start production",
               "Production Started", "The synthesis starts; planning can no longer cancel the batch."),
    Transition("complete_production", "IN_PRODUCTION", "PRODUCTION_COMPLETE", ("Production",),
               "Mark production complete", "Production Completed", "This will send the batch to QC."),
    Transition("send_to_qc", "PRODUCTION_COMPLETE", "QC_PENDING", (SYSTEM_ROLE,), "Send to QC",
               "Sent to QC", "QC is notified to sample the batch."),
    Transition("start_qc", "QC_PENDING", "QC_IN_PROGRESS", QC_ROLES, "Start QC", "QC Started",
               "QC testing begins against the product's QC template."),
    Transition("pass_qc", "QC_IN_PROGRESS", "QC_PASSED", QC_ROLES, "Mark QC passed", "QC Passed",
               "This will unlock QP review.", guards=("qc_session_passed",)),
    Transition("fail_qc", "QC_IN_PROGRESS", "FAILED_QC", QC_ROLES, "Mark QC failed", "QC Failed",
               "The batch will be blocked from dispensing, packing and dispatch.",
               needs_note=True, forward=False),
    Transition("retest_qc", "FAILED_QC", "QC_IN_PROGRESS", ("QC Manager",), "Start QC retest",
               "QC Retest Started", "Only when the OOS investigation invalidated the result.",
               needs_note=True, forward=False),
    Transition("start_qp_review", "QC_PASSED", "QP_REVIEW", ("QP",), "Start QP review", "QP Review Started",
               "The QP reviews the batch record before certifying it.", guards=("qc_session_passed",)),
    Transition("release", "QP_REVIEW", "RELEASED", ("QP",), "Release batch", "Batch Released",
               "This will unlock Dispensing.", needs_signature=True),
    Transition("hold", "QP_REVIEW", "ON_HOLD", ("QP",), needs_signature=True, **_HOLD),
    *_rows("hold", tuple(s for s in HOLDABLE if s != "QP_REVIEW"), "ON_HOLD", ("QP",), **_HOLD),
    *_rows("reject", ("QP_REVIEW", "ON_HOLD", "FAILED_QC"), "REJECTED", ("QP",), label="Reject batch",
           title="Batch Rejected", impact="This is final: the batch can never be dispensed or shipped.",
           needs_note=True, needs_signature=True, forward=False),
    # Lifting a hold returns to the state the batch was held in; back into released states it is
    # a renewed certification, so it needs the QP's signature again.
    *(Transition("resume", "ON_HOLD", s, ("QP",), "Lift hold", "Hold Lifted",
                 f"The batch returns to {STATE_LABELS[s]}.", needs_note=True,
                 needs_signature=s in POST_RELEASE, guards=_return_guards(s), forward=False)
      for s in HOLDABLE),
    Transition("start_dispensing", "RELEASED", "DISPENSING_IN_PROGRESS", ("Dispensing",), "Start dispensing",
               "Dispensing Started", "Dose units are drawn from the released batch."),
    Transition("complete_dispensing", "DISPENSING_IN_PROGRESS", "DISPENSED", ("Dispensing",),
               "Mark dispensed", "Dispensing Completed", "This will unlock Packing."),
    Transition("pack", "DISPENSED", "PACKED", ("Logistics",), "Pack", "Batch Packed",
               "This will unlock Dispatch."),
    Transition("dispatch", "PACKED", "DISPATCHED", ("Logistics",), "Dispatch", "Batch Dispatched",
               "The hospitals are notified that their doses are on the way."),
    Transition("close", "DISPATCHED", "CLOSED", ("Logistics",), "Close batch", "Batch Closed",
               "This is final: the batch record is complete."),
    *_rows("cancel", ("PLANNED", "SCHEDULED"), "CANCELLED", ("Planner",), label="Cancel batch",
           title="Batch Cancelled", impact="This is final: the batch will not be produced.",
           needs_note=True, forward=False),
    Transition("abort_production", "IN_PRODUCTION", "CANCELLED", ("Production",), "Abort synthesis",
               "Synthesis Aborted", "This is final: the batch ends here.", needs_note=True, forward=False),
    *_rows("open_deviation", DEVIATION_SOURCES, "DEVIATION_OPEN", ("Production", *QC_ROLES),
           label="Open deviation", title="Deviation Opened",
           impact="The batch stops where it is until QC Manager or QP closes the deviation.",
           needs_note=True, forward=False),
    *(Transition("close_deviation", "DEVIATION_OPEN", s, ("QC Manager", "QP"), "Close deviation",
                 "Deviation Closed", f"The batch returns to {STATE_LABELS[s]}.", needs_note=True,
                 guards=_return_guards(s), forward=False)
      for s in DEVIATION_SOURCES),
)
# fmt: on

_BY_PAIR: dict[tuple[str, str], Transition] = {(t.source, t.dest): t for t in TRANSITIONS}
_BY_SOURCE: dict[str, list[Transition]] = {}
for _t in TRANSITIONS:
    _BY_SOURCE.setdefault(_t.source, []).append(_t)


def find(source: str, dest: str) -> Transition | None:
    return _BY_PAIR.get((source, dest))


def rows_from(source: str) -> list[Transition]:
    return _BY_SOURCE.get(source, [])


def automatic_move(status: str) -> Transition | None:
    """The move the system makes by itself on reaching `status` (production complete -> QC pending)."""
    return next((r for r in rows_from(status) if r.roles == (SYSTEM_ROLE,)), None)


def needs_qc_session(status: str) -> bool:
    """Whether deciding moves from `status` needs the QC session status (saves a query otherwise)."""
    return any("qc_session_passed" in r.guards for r in rows_from(status))


# --- Context and guards ------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchContext:
    """What the rules need to know about a batch (a snapshot taken by the service)."""

    status: str
    status_before_exception: str | None = None
    qc_session_status: str | None = None  # None: no QC session


@dataclass(frozen=True)
class TransitionContext:
    """One request: the batch snapshot plus who asks and what they brought."""

    batch: BatchContext
    roles: tuple[str, ...] = ()
    note: str | None = None
    has_signature: bool = False
    override: bool = False  # the admin explicitly asks to override
    allow_admin_override: bool = False  # ALLOW_ADMIN_OVERRIDE
    system: bool = False  # an automatic consequence of another authorised action


Guard = Callable[[TransitionContext, Transition], DomainError | None]


def qc_session_passed(ctx: TransitionContext, row: Transition) -> DomainError | None:
    """QC can pass (and QP review start, or a batch return to those states) only with a QC session
    that passed. No session (no active QC template for the product) means no pass."""
    status = ctx.batch.qc_session_status
    if status == "QC_PASSED":
        return None
    if status is None:
        msg = "This batch has no QC session (no active QC template for the product), so it cannot pass QC."
    else:
        msg = f"QC has not passed: the QC session is {status.replace('_', ' ').lower()}."
    return DomainError("QC_NOT_PASSED", msg, 409)


def returns_to_prior_state(ctx: TransitionContext, row: Transition) -> DomainError | None:
    """Leaving ON_HOLD or DEVIATION_OPEN goes back exactly to where the batch was."""
    prior = ctx.batch.status_before_exception
    if row.dest == prior:
        return None
    if row.source in BLOCKING_STATES and row.dest in DOWNSTREAM_STATES:
        return blocked_error(row.source, row.dest)
    what = "Lifting the hold" if row.source == "ON_HOLD" else "Closing the deviation"
    return DomainError(
        "TRANSITION_NOT_ALLOWED",
        f"{what} returns the batch to its previous state, {label(prior)}, not {label(row.dest)}.",
        409,
    )


GUARDS: dict[str, Guard] = {
    "qc_session_passed": qc_session_passed,
    "returns_to_prior_state": returns_to_prior_state,
}


# --- Refusals ----------------------------------------------------------------------------------
_BLOCK_WHY = {"FAILED_QC": "QC failed", "ON_HOLD": "Batch on hold", "REJECTED": "Batch rejected"}
_BLOCK_WHAT = {
    "DISPENSING_IN_PROGRESS": "dispensing",
    "DISPENSED": "dispensing",
    "PACKED": "packing",
    "DISPATCHED": "dispatch",
}
DISPENSING_MESSAGE = "You can't start dispensing before QP releases the batch."


def blocked_error(status: str, dest: str) -> DomainError:
    return DomainError(
        "BATCH_BLOCKED", f"{_BLOCK_WHY[status]} — batch is blocked from {_BLOCK_WHAT[dest]}.", 409
    )


def _not_listed(status: str, dest: str) -> DomainError:
    if status in BLOCKING_STATES and dest in DOWNSTREAM_STATES:
        return blocked_error(status, dest)
    if status in FINAL_STATES:
        return DomainError(
            "TRANSITION_NOT_ALLOWED",
            f"The batch is {label(status)}, a final state: it can't move to {label(dest)}.",
            409,
        )
    if dest in DISPENSING_STATES and status not in POST_RELEASE:
        return DomainError("DISPENSING_BEFORE_RELEASE", DISPENSING_MESSAGE, 409)
    return DomainError(
        "TRANSITION_NOT_ALLOWED", f"A batch in {label(status)} can't move to {label(dest)}.", 409
    )


def _role_refusal(ctx: TransitionContext, row: Transition) -> DomainError | None:
    if ctx.system:
        return None
    if any(r in row.roles for r in ctx.roles):
        return None
    if row.roles == (SYSTEM_ROLE,):
        return DomainError("FORBIDDEN", f"{row.title} happens automatically; nobody fires it by hand.", 403)
    if ADMIN_ROLE in ctx.roles and ctx.override:
        if not ctx.allow_admin_override:
            return DomainError("FORBIDDEN", "Admin overrides are switched off (ALLOW_ADMIN_OVERRIDE).", 403)
        if not row.overridable:
            return DomainError(
                "FORBIDDEN",
                f"Only {_roles_text(row.roles)} can do this; an admin override can't decide for them.",
                403,
            )
        return None
    hint = (
        " As Admin you may override it, with a reason."
        if ADMIN_ROLE in ctx.roles and ctx.allow_admin_override and row.overridable
        else ""
    )
    return DomainError("FORBIDDEN", f"Only {_roles_text(row.roles)} can {row.label.lower()}.{hint}", 403)


def acting_role(ctx: TransitionContext, row: Transition) -> str:
    """The role recorded on the event: the matching role, or System / Admin (override)."""
    if ctx.system:
        return SYSTEM_ROLE
    for r in ctx.roles:
        if r in row.roles:
            return r
    return ADMIN_ROLE


def is_override(ctx: TransitionContext, row: Transition) -> bool:
    return not ctx.system and not any(r in row.roles for r in ctx.roles)


def _roles_text(roles: tuple[str, ...]) -> str:
    return " or ".join(roles)


def refusal(ctx: TransitionContext, row: Transition, *, for_listing: bool = False) -> DomainError | None:
    """The first reason this row may not fire for this context, or None.

    Order: role, guards (is the move possible at all), then note and signature, which the dialog
    collects; `for_listing` skips those two.
    """
    problem = _role_refusal(ctx, row)
    if problem:
        if row.source in BLOCKING_STATES and row.dest in DOWNSTREAM_STATES:
            return blocked_error(row.source, row.dest)  # what a dispenser needs to hear, not "forbidden"
        return problem
    for name in row.guards:
        problem = GUARDS[name](ctx, row)
        if problem:
            return problem
    if for_listing:
        return None
    overriding = is_override(ctx, row)
    if (row.needs_note or overriding) and not (ctx.note or "").strip():
        what = "a reason for the override" if overriding else "a note"
        return DomainError("NOTE_REQUIRED", f"{row.label} needs {what}.", 422)
    if row.needs_signature and not ctx.has_signature:
        return DomainError("SIGNATURE_REQUIRED", f"{row.label} needs the QP's electronic signature.", 409)
    return None


def check(ctx: TransitionContext, to_status: str) -> Transition:
    """The row for this request, or the DomainError that refuses it."""
    status = ctx.batch.status
    row = find(status, to_status)
    if row is None:
        raise _not_listed(status, to_status)
    problem = refusal(ctx, row)
    if problem:
        raise problem
    return row


# --- The one machine ---------------------------------------------------------------------------
class _Subject:
    """What the machine moves: only a status (never the ORM row; see STACK-NOTES)."""

    def __init__(self, status: str) -> None:
        self.status = status


def _condition(name: str) -> Callable:
    guard = GUARDS[name]

    def condition(event) -> bool:
        ctx: TransitionContext = event.kwargs["ctx"]
        return guard(ctx, event.transition.row) is None

    condition.__name__ = name
    return condition


def machine_transitions() -> list[dict]:
    return [
        {
            "trigger": t.trigger,
            "source": t.source,
            "dest": t.dest,
            "conditions": [_condition(g) for g in t.guards],
        }
        for t in TRANSITIONS
    ]


def _build_machine() -> Machine:
    m = Machine(
        model=None,
        states=list(STATES),
        transitions=machine_transitions(),
        initial="PLANNED",
        auto_transitions=False,
        model_attribute="status",
        send_event=True,
    )
    # Conditions see the table row they belong to.
    for event in m.events.values():
        for source, transitions in event.transitions.items():
            for tr in transitions:
                tr.row = find(source, tr.dest)  # type: ignore[attr-defined, arg-type]
    return m


MACHINE = _build_machine()
# The library logs two INFO lines per move ("Finished processing state ... callbacks"): a tenth of a
# move's time, and chatter beside the audit trail, which is the record of every move.
logging.getLogger("transitions").setLevel(logging.WARNING)


def fire(ctx: TransitionContext, row: Transition) -> str:
    """Move a snapshot through the shared machine; returns the new status (no I/O happens here).

    The event is fired on the snapshot directly, without registering it as a model of the machine:
    add_model / remove_model per move bound a trigger method per event and put the model in every
    state, which cost more (about 0.12 ms) than the move; the machine itself is never changed, so
    concurrent moves need no lock."""
    subject = _Subject(ctx.batch.status)
    moved = MACHINE.events[row.trigger].trigger(subject, ctx=ctx)
    if not moved or subject.status != row.dest:
        raise DomainError(
            "TRANSITION_NOT_ALLOWED",
            f"A batch in {label(ctx.batch.status)} can't move to {label(row.dest)}.",
            409,
        )
    return subject.status


def decide(ctx: TransitionContext, to_status: str) -> Transition:
    """Check a request and fire it through the machine; the row tells the service what to write."""
    row = check(ctx, to_status)
    fire(ctx, row)
    return row


# --- What a user may do ------------------------------------------------------------------------
@dataclass(frozen=True)
class Action:
    trigger: str
    to_status: str
    label: str
    title: str
    impact: str
    needs_note: bool
    needs_signature: bool
    is_override: bool

    def as_dict(self) -> dict:
        return {
            "trigger": self.trigger,
            "to_status": self.to_status,
            "to_status_label": label(self.to_status),
            "label": self.label,
            "title": self.title,
            "impact": self.impact,
            "needs_note": self.needs_note or self.is_override,
            "needs_signature": self.needs_signature,
            "is_override": self.is_override,
        }


def allowed_actions(
    batch_ctx: BatchContext, actor_roles: tuple[str, ...], *, allow_admin_override: bool = False
) -> list[Action]:
    """The moves this user may make now (note and signature are asked for in the dialog)."""
    base = TransitionContext(
        batch=batch_ctx, roles=tuple(actor_roles), allow_admin_override=allow_admin_override
    )
    actions = []
    for row in rows_from(batch_ctx.status):
        ctx = base
        if not any(r in row.roles for r in ctx.roles) and ADMIN_ROLE in ctx.roles and allow_admin_override:
            ctx = replace(base, override=True)
        if refusal(ctx, row, for_listing=True) is None:
            actions.append(
                Action(
                    row.trigger,
                    row.dest,
                    row.label,
                    row.title,
                    row.impact,
                    row.needs_note,
                    row.needs_signature,
                    is_override(ctx, row),
                )
            )
    return actions


def next_step(batch_ctx: BatchContext) -> Transition | None:
    """The step that moves this batch on, for "What's next".

    On the main path: the forward row (even while its guard still waits, e.g. QC results). In an
    exception state: the way back (lift hold, close deviation), else the final disposition.
    """
    rows = rows_from(batch_ctx.status)
    forward = [r for r in rows if r.forward]
    if forward:
        return forward[0]
    ctx = TransitionContext(batch=batch_ctx, system=True)
    back = [
        r for r in rows if "returns_to_prior_state" in r.guards and returns_to_prior_state(ctx, r) is None
    ]
    rejects = [r for r in rows if r.dest == "REJECTED"]
    for group in (back, rejects, [r for r in rows if not r.guards]):
        if group:
            return group[0]
    return None

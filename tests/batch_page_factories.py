"""Factories for the batch page tests: batches with a believable history, made through the real
batch services (`create_batch`, `apply_transition`), each move by the demo user of its role.

`journey(...)` stamps the events with a believable day (`batches.recorded_at`, meant for seeding),
so a timeline reads like a real early-morning production. QC passing needs a passed QC session and
release needs a QP signature: the factory stands in for the QC module (a patched hook) and signs
as the QP with a real ESignature row, since those modules have their own tests.
"""

from __future__ import annotations

import datetime as dt
import itertools
from contextlib import contextmanager, nullcontext
from unittest import mock
from zoneinfo import ZoneInfo

from flask import current_app

from app.batches import hooks as qc_hooks
from app.batches import service as batches
from app.batches.domain.states import POST_RELEASE
from app.core.actor import Actor, actor_from_user
from app.core.extensions import db
from app.security.models import ESignature

# Who makes each move (to_status -> demo user), and the note a real person would write.
BY = {
    "SCHEDULED": "planner",
    "IN_PRODUCTION": "prod",
    "PRODUCTION_COMPLETE": "prod",
    "QC_IN_PROGRESS": "qc",
    "QC_PASSED": "qcreview",
    "QP_REVIEW": "qp",
    "RELEASED": "qp",
    "DISPENSING_IN_PROGRESS": "disp",
    "DISPENSED": "disp",
    "PACKED": "logi",
    "DISPATCHED": "logi",
    "CLOSED": "logi",
    "ON_HOLD": "qp",
    "REJECTED": "qp",
    "FAILED_QC": "qc",
    "CANCELLED": "planner",
    "DEVIATION_OPEN": "prod",
}
NOTES = {
    "IN_PRODUCTION": "Target 1 irradiated 45 min at 60 µA; FASTlab cassette lot FL-2291.",
    "PRODUCTION_COMPLETE": "EOS 06:05, 148 GBq in the product vial.",
    "ON_HOLD": "Hold until the endotoxin result is confirmed.",
    "FAILED_QC": "pH 4.3 below the 4.5 limit; OOS opened.",
    "REJECTED": "Rejected after the OOS investigation confirmed the result.",
    "CANCELLED": "Cyclotron target failure; orders moved to FDG batch 02.",
    "DEVIATION_OPEN": "Transfer line pressure alarm during synthesis.",
}
# The path to each state from PLANNED (an exception state is reached from the state before it).
MAIN = (
    "SCHEDULED", "IN_PRODUCTION", "PRODUCTION_COMPLETE", "QC_IN_PROGRESS", "QC_PASSED", "QP_REVIEW",
    "RELEASED", "DISPENSING_IN_PROGRESS", "DISPENSED", "PACKED", "DISPATCHED", "CLOSED",
)  # fmt: skip
_minutes = itertools.count()


def actor(username: str) -> Actor:
    user = current_app.appbuilder.sm.find_user(username=username)
    assert user is not None, f"demo user {username} missing"
    return actor_from_user(user)


@contextmanager
def qc_passed():
    """Stand in for a QC session that passed (the QC module has its own tests)."""
    with mock.patch.object(qc_hooks, "qc_session_status", lambda batch: "QC_PASSED"):
        yield


def path_to(status: str, via: str | None = None) -> list[str]:
    """Moves from PLANNED to `status`; exception states branch off `via` (default: a sensible stop)."""
    if status == "PLANNED":
        return []
    if status in MAIN:
        return list(MAIN[: MAIN.index(status) + 1])
    stop = (
        via
        or {
            "ON_HOLD": "QP_REVIEW",
            "REJECTED": "ON_HOLD",
            "FAILED_QC": "QC_IN_PROGRESS",
            "CANCELLED": "SCHEDULED",
            "DEVIATION_OPEN": "IN_PRODUCTION",
        }[status]
    )
    if stop == "ON_HOLD":
        return [*path_to("ON_HOLD"), status]
    return [*path_to(stop), status]


def sign_release(batch_id: int, signer: Actor) -> int:
    sig = ESignature(
        scope="BATCH_RELEASE",
        entity_type="Batch",
        entity_id=str(batch_id),
        signer_id=signer.user_id,
        signer_name=signer.printed_name,
        signer_roles=signer.roles_text,
        meaning="QP certification: released for human use",
        content_sha256="0" * 64,
    )
    db.session.add(sig)
    db.session.flush()
    return sig.id


def early_morning() -> dt.datetime:
    """04:30 site time on the latest day whose morning is over (so no event lies in the future)."""
    tz = ZoneInfo(current_app.config["SITE_TIMEZONE"])
    now = dt.datetime.now(tz)
    day = now.date() if now.hour >= 12 else now.date() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(4, 30), tz).astimezone(dt.UTC)


def journey(
    status: str,
    product: str = "FDG",
    *,
    start: dt.datetime | None = None,
    customers: tuple[str, ...] = (),
    via: str | None = None,
    step_minutes: int = 25,
    notes: dict[str, str] | None = None,
):
    """A batch walked to `status` through the real services; events stamped with a believable day
    (planned the evening before `start`, produced from `start` on; `batches.recorded_at`)."""
    start = start or early_morning() + dt.timedelta(minutes=5 * next(_minutes))
    with batches.recorded_at(start - dt.timedelta(hours=10)):
        batch = batches.create_batch(
            product,
            start,
            start + dt.timedelta(minutes=50),
            actor=actor("planner"),
            planned_activity_mbq="150000",
            customer_codes=customers,
        )
    when = start - dt.timedelta(hours=9)
    texts = {**NOTES, **(notes or {})}
    with qc_passed():
        for dest in path_to(status, via):
            when = start if dest == "IN_PRODUCTION" else when + dt.timedelta(minutes=step_minutes)
            move(batch.id, dest, at=when, note=texts.get(dest))
    db.session.refresh(batch)
    return batch


def move(batch_id: int, dest: str, *, at: dt.datetime | None = None, note: str | None = None, by=None):
    """One move by the role that owns it (the QP's moves signed), committed by transition_batch."""
    who = actor(by or BY.get(dest, "qp"))
    status = batches.lock_batch(batch_id).status
    signed = (
        dest == "RELEASED"
        or (status == "ON_HOLD" and dest in POST_RELEASE)
        or (status in ("QP_REVIEW", "ON_HOLD") and dest in ("ON_HOLD", "REJECTED"))
    )
    signature = sign_release(batch_id, who) if signed else None
    metadata = {"actual_yield_mbq": "148000"} if dest == "PRODUCTION_COMPLETE" else None
    if (
        note is None
        and dest in NOTES
        and dest in ("ON_HOLD", "REJECTED", "FAILED_QC", "CANCELLED", "DEVIATION_OPEN")
    ):
        note = NOTES[dest]
    if status in ("ON_HOLD", "DEVIATION_OPEN") and not note:
        note = "Resolved; see the investigation record."
    with batches.recorded_at(at) if at else nullcontext():
        return batches.transition_batch(batch_id, dest, who, note, metadata, signature_id=signature)

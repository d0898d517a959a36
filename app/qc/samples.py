"""QC samples: record what was drawn from a batch for testing, when and by whom.

Rules enforced here:
- a sample is taken after production has ended (the batch is in QC or later, never cancelled);
- the time taken is not in the future (5 minutes' clock slack) and not before production started;
- records are append-only (database triggers); a wrong entry is answered by a new one with a note;
- each record writes an audit row and a QC event on the batch journey ("QC Sample Taken").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.audit.service import jsonable
from app.batches.domain.states import label
from app.core import clock
from app.core.actor import Actor, current_actor
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.core.lengths import NOTE_MAX, text_input
from app.core.web import fmt_local
from app.qc import service as qc
from app.qc.models import SAMPLE_TYPES, BatchQcSample
from app.qc.tx import atomic

SAMPLE_LABELS = {
    "RELEASE_TESTING": "Release testing",
    "ENDOTOXIN": "Endotoxin",
    "STERILITY": "Sterility",
    "RETENTION": "Retention",
}
CLOCK_SLACK = dt.timedelta(minutes=5)


def parse_taken_at(raw: Any, now: dt.datetime) -> dt.datetime:
    if raw in (None, ""):
        return now
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        try:
            value = dt.datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValidationFailed(
                "taken_at is not a date and time (ISO 8601).", {"taken_at": "not a date"}
            ) from None
    from app.core.web import local_instant, site_tz

    # A time typed on the page is site-local; one the site's clock skips or repeats is refused.
    return local_instant(value, site_tz(), "taken_at")


@atomic
def record_sample(
    batch_id: int,
    sample_type: str,
    *,
    taken_at: Any = None,
    note: str | None = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> BatchQcSample:
    """Record one sample drawn from the batch (see the module rules); commits."""
    actor = actor or current_actor()
    now = now or clock.now()
    sample_type = str(sample_type or "").strip().upper()
    if sample_type not in SAMPLE_TYPES:
        raise ValidationFailed(
            "Choose the sample type.", {"sample_type": "one of " + ", ".join(SAMPLE_TYPES)}
        )
    batch, session = qc.lock_session(batch_id)
    if batch.status in qc.NOT_YET_PRODUCED:
        raise DomainError(
            "QC_NOT_READY", f"Samples are taken after production; the batch is {label(batch.status)}.", 409
        )
    when = parse_taken_at(taken_at, now)
    if when > now + CLOCK_SLACK:
        raise ValidationFailed("The sample time is in the future.", {"taken_at": "in the future"})
    if batch.actual_start_at is not None and when < batch.actual_start_at:
        raise ValidationFailed(
            "The sample time is before production started.", {"taken_at": "before production"}
        )
    note = text_input(note, "note", limit=NOTE_MAX)  # too long: 422, never cut (issue 14)
    sample = BatchQcSample(
        batch_id=batch.id,
        session_id=session.id,
        sample_type=sample_type,
        taken_at=when,
        taken_by_user_id=actor.user_id,
        taken_by_name=actor.printed_name,
        note=note,
        recorded_at=clock.stamp(),
    )
    db.session.add(sample)
    db.session.flush()
    audit.record(
        "BatchQcSample",
        sample.id,
        "SAMPLE_TAKEN",
        after={"batch_id": batch.id, "sample_type": sample_type, "taken_at": jsonable(when)},
        reason=note,
        actor=actor,
    )
    from app.batches import service as batches

    batches.record_event(
        batch,
        "QC",
        f"QC Sample Taken: {SAMPLE_LABELS[sample_type]}",
        actor,
        note=f"Taken {fmt_local(when)}" + (f". {note}" if note else ""),
        metadata={"sample_id": sample.id, "sample_type": sample_type},
    )
    db.session.commit()
    return sample


def samples(batch_id: int) -> list[BatchQcSample]:
    return list(
        db.session.execute(
            select(BatchQcSample).where(BatchQcSample.batch_id == batch_id).order_by(BatchQcSample.taken_at)
        ).scalars()
    )


def as_dict(s: BatchQcSample) -> dict[str, Any]:
    return {
        "id": s.id,
        "sample_type": s.sample_type,
        "sample_type_label": SAMPLE_LABELS[s.sample_type],
        "taken_at": jsonable(s.taken_at),
        "taken_by": s.taken_by_name,
        "note": s.note,
    }

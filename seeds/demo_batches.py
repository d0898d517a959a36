"""Demo batches: three days of a cyclotron department, told through the real services.

Ten batches across the stages (closed, dispatched, released and dispensing, waiting for QP release,
waiting for QC, on hold, rejected after an OOS result, cancelled, scheduled and planned for
tomorrow), synthesised in the early morning site-local time (FDG 02:30-03:15, Ga-68 PSMA at 06:00,
NaF at 06:30). Every move goes through `app.batches.service`, QC through the QC module's
`run_batch_qc` and QP decisions through `app.release.service` with the QP's e-signature, so the
timelines, QC sessions and signatures are the same records a real day leaves.

Times: every record of a step carries the step's time: `batches.recorded_at` freezes the
application clock (`app.core.clock`), so batch events, audit rows, QC samples, results and reviews,
OOS cases, e-signatures and dispositions are written at the story's site-local time, and a QP's
signature is the instant of the release it signs. "Today" is the site's current day from 07:00 on
(before that, yesterday), so no event lies in the future. Idempotent: nothing is done once any
batch exists.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.batches import service as batches
from app.batches.models import Batch
from app.core.actor import actor_from_user
from app.core.extensions import db

FDG_NOTE = "FASTlab 2, cassette lot GE-FL2-5541; target 1, 55 µA for 45 min."


def _people() -> dict[str, object]:
    sm = current_app.appbuilder.sm
    return {
        u: actor_from_user(sm.find_user(username=u))
        for u in ("planner", "prod", "qc", "qcreview", "qcmanager", "qp", "disp", "logi")
    }


def story_today() -> dt.date:
    """The demo's "today": the site's current day from 07:00 on, before that yesterday."""
    local_now = dt.datetime.now(ZoneInfo(current_app.config["SITE_TIMEZONE"]))
    return local_now.date() if local_now.hour >= 7 else local_now.date() - dt.timedelta(days=1)


def story_start() -> dt.datetime:
    """Set-up time of the demo (templates approved, QP rights granted): 08:00 the day before its first day."""
    return _Day(ZoneInfo(current_app.config["SITE_TIMEZONE"]), story_today()).at(-4, "08:00")


class _Day:
    """Site-local clock for the story."""

    def __init__(self, tz: ZoneInfo, day: dt.date):
        self.tz, self.day = tz, day

    def at(self, offset_days: int, hhmm: str) -> dt.datetime:
        h, m = (int(x) for x in hhmm.split(":"))
        local = dt.datetime.combine(self.day + dt.timedelta(days=offset_days), dt.time(h, m), self.tz)
        return local.astimezone(dt.UTC)


class _Story:
    """One batch told step by step: each step at its own local time, by its own person."""

    def __init__(self, clock: _Day, people: dict, batch: Batch):
        self.clock, self.p, self.batch = clock, people, batch

    def move(self, day: int, hhmm: str, to: str, who: str, note: str | None = None, **kw) -> _Story:
        with batches.recorded_at(self.clock.at(day, hhmm), dt.timedelta(seconds=40)):
            batches.transition_batch(self.batch.id, to, self.p[who], note, **kw)
        return self

    def qc(self, day: int, hhmm: str, outcome: str = "PASS") -> _Story:
        from seeds.qc import run_batch_qc

        with batches.recorded_at(self.clock.at(day, hhmm), dt.timedelta(minutes=3)):
            run_batch_qc(self.batch.id, outcome=outcome, failing_code="ENDOTOXIN")
        return self

    def qp(self, day: int, hhmm: str, disposition: str, comment: str | None = None) -> _Story:
        from app.release import service as release

        at = self.clock.at(day, hhmm)
        with batches.recorded_at(at):
            release.decide_disposition(
                self.batch.id,
                disposition,
                actor=self.p["qp"],
                password=current_app.config["DEMO_PASSWORD"],
                comment=comment,
                now=at,  # the review by exception judges timing at the story's time, not the seed's
            )
        return self

    def deviation(self, day: int, hhmm: str, reason: str, close_hhmm: str, closing: str) -> _Story:
        with batches.recorded_at(self.clock.at(day, hhmm)):
            dev = batches.open_deviation(self.batch.id, reason, self.p["prod"])
        with batches.recorded_at(self.clock.at(day, close_hhmm)):
            batches.close_deviation(self.batch.id, dev.id, closing, self.p["qcmanager"])
        return self


def _plan(clock, people, product, day, start, minutes, cell, mbq, customers, planned_on, note) -> _Story:
    begin = clock.at(day, start)
    with batches.recorded_at(clock.at(planned_on[0], planned_on[1])):
        batch = batches.create_batch(
            product,
            begin,
            begin + dt.timedelta(minutes=minutes),
            actor=people["planner"],
            hot_cell_code=cell,
            planned_activity_mbq=mbq,
            owner_id=people["prod"].user_id,
            customer_codes=customers,
            note=note,
        )
    return _Story(clock, people, batch)


def _produce(
    s: _Story, day: int, start: str, end: str, yield_mbq: int, start_note: str, end_note: str
) -> _Story:
    s.move(day, start, "IN_PRODUCTION", "prod", start_note)
    return s.move(day, end, "PRODUCTION_COMPLETE", "prod", end_note, metadata={"actual_yield_mbq": yield_mbq})


def _release_and_ship(s: _Story, day: int, times: dict[str, str], doses: int, close: str | None) -> _Story:
    s.move(day, times["review"], "QP_REVIEW", "qp", "Batch record and QC results under review.")
    s.qp(day, times["release"], "RELEASE", "Released for human use; batch record complete.")
    s.move(
        day,
        times["dispense"],
        "DISPENSING_IN_PROGRESS",
        "disp",
        f"{doses} patient doses planned on the dispensing cell.",
    )
    s.move(
        day,
        times["dispensed"],
        "DISPENSED",
        "disp",
        f"{doses} doses dispensed and assayed; 1 reserve vial kept.",
    )
    s.move(
        day, times["packed"], "PACKED", "logi", "Type A packages; transport index 0.4-0.9; labels checked."
    )
    s.move(
        day,
        times["dispatched"],
        "DISPATCHED",
        "logi",
        "Courier left the facility; ETA at the first hospital 35 min.",
    )
    if close:
        s.move(day, close, "CLOSED", "logi", "All deliveries confirmed by the hospitals; no returns.")
    return s


def seed() -> dict[str, int]:
    if db.session.execute(select(Batch.id).limit(1)).first():
        return {"demo_batches": 0}
    tz = ZoneInfo(current_app.config["SITE_TIMEZONE"])
    clock, p = _Day(tz, story_today()), _people()
    hospitals = ("KFSH", "KAMC", "KSUMC")

    # Two days ago: a routine FDG run, closed.
    s = _plan(
        clock,
        p,
        "FDG",
        -2,
        "02:30",
        45,
        "HC-1",
        185000,
        hospitals,
        (-3, "14:10"),
        "Routine FDG for the morning PET lists of KFSH, KAMC and KSUMC (24 doses).",
    )
    s.move(-3, "14:12", "SCHEDULED", "planner", "Target and FASTlab cassette reserved.")
    _produce(s, -2, "02:31", "03:14", 176400, FDG_NOTE, "EOS 176.4 GBq in 15.2 mL; RCY 62 % (n.d.c.).")
    s.qc(-2, "03:20")
    _release_and_ship(
        s,
        -2,
        {
            "review": "04:05",
            "release": "04:12",
            "dispense": "04:15",
            "dispensed": "05:05",
            "packed": "05:20",
            "dispatched": "05:35",
        },
        24,
        close="11:30",
    )

    # Two days ago, second FDG run: endotoxin out of specification, rejected.
    s = _plan(
        clock,
        p,
        "FDG",
        -2,
        "04:45",
        45,
        "HC-1",
        170000,
        ("KAMC",),
        (-3, "14:20"),
        "Second FDG run for the KAMC afternoon list.",
    )
    s.move(-3, "14:22", "SCHEDULED", "planner")
    _produce(
        s, -2, "04:46", "05:29", 171000, "FASTlab 2, second cassette; target 1.", "EOS 171.0 GBq in 15.0 mL."
    )
    s.qc(-2, "05:35", outcome="FAIL")
    s.qp(
        -2,
        "09:40",
        "REJECT",
        "Endotoxin OOS confirmed on retest (OOS case opened); batch rejected, kept for decay.",
    )

    # Yesterday: PSMA run cancelled before start.
    s = _plan(
        clock,
        p,
        "PSMA11",
        -1,
        "05:00",
        40,
        "HC-2",
        1900,
        ("KFSH",),
        (-2, "15:00"),
        "Ga-68 PSMA-11 for the KFSH prostate list (6 patients).",
    )
    s.move(-2, "15:05", "SCHEDULED", "planner", "Generator elution booked for 04:40.")
    s.move(
        -1,
        "04:20",
        "CANCELLED",
        "planner",
        "Ge-68/Ga-68 generator elution yield 41 % (limit 50 %): run cancelled, patients moved to tomorrow.",
    )

    # Yesterday: FDG with a deviation during synthesis, dispatched.
    s = _plan(
        clock,
        p,
        "FDG",
        -1,
        "02:30",
        45,
        "HC-1",
        185000,
        hospitals,
        (-2, "14:05"),
        "Routine FDG for the morning PET lists.",
    )
    s.move(-2, "14:07", "SCHEDULED", "planner", "Target and FASTlab cassette reserved.")
    s.move(-1, "02:30", "IN_PRODUCTION", "prod", FDG_NOTE)
    s.deviation(
        -1,
        "02:52",
        "Target 1 pressure alarm (2.9 MPa) during bombardment; beam stopped for 2 min.",
        "03:05",
        "Pressure trend reviewed with the cyclotron engineer: transient, no product impact.",
    )
    s.move(
        -1,
        "03:20",
        "PRODUCTION_COMPLETE",
        "prod",
        "EOS 168.9 GBq in 15.1 mL.",
        metadata={"actual_yield_mbq": 168900},
    )
    s.qc(-1, "03:25")
    _release_and_ship(
        s,
        -1,
        {
            "review": "04:10",
            "release": "04:18",
            "dispense": "04:20",
            "dispensed": "05:10",
            "packed": "05:25",
            "dispatched": "05:40",
        },
        22,
        close=None,
    )

    # Yesterday: NaF held by the QP during review.
    s = _plan(
        clock,
        p,
        "NAF",
        -1,
        "06:30",
        40,
        "HC-3",
        95000,
        ("KAMC", "KSUMC"),
        (-2, "16:00"),
        "NaF bone scans for KAMC and KSUMC.",
    )
    s.move(-2, "16:02", "SCHEDULED", "planner")
    _produce(
        s, -1, "06:31", "07:08", 92400, "TRACERlab MX, QMA cartridge lot 2611.", "EOS 92.4 GBq in 10.0 mL."
    )
    s.qc(-1, "07:15")
    s.move(-1, "08:05", "QP_REVIEW", "qp", "Reviewing the batch record.")
    s.qp(
        -1,
        "08:20",
        "HOLD",
        "Filter integrity (bubble point) printout missing from the batch record; hold until Production attaches it.",
    )

    # Today: FDG released and being dispensed.
    s = _plan(
        clock,
        p,
        "FDG",
        0,
        "02:30",
        45,
        "HC-1",
        185000,
        hospitals,
        (-1, "14:05"),
        "Routine FDG for the morning PET lists (26 doses).",
    )
    s.move(-1, "14:07", "SCHEDULED", "planner", "Target and FASTlab cassette reserved.")
    _produce(s, 0, "02:30", "03:13", 181200, FDG_NOTE, "EOS 181.2 GBq in 15.3 mL; RCY 64 % (n.d.c.).")
    s.qc(0, "03:20")
    s.move(0, "04:02", "QP_REVIEW", "qp", "Batch record and QC results under review.")
    s.qp(0, "04:10", "RELEASE", "Released for human use; batch record complete.")
    s.move(0, "04:14", "DISPENSING_IN_PROGRESS", "disp", "26 patient doses planned on the dispensing cell.")

    # Today: second FDG run waiting for QP release.
    s = _plan(
        clock,
        p,
        "FDG",
        0,
        "04:45",
        45,
        "HC-1",
        165000,
        ("KFSH", "KSUMC"),
        (-1, "14:30"),
        "Second FDG run for the afternoon lists.",
    )
    s.move(-1, "14:32", "SCHEDULED", "planner")
    _produce(
        s, 0, "04:46", "05:30", 159700, "FASTlab 2, second cassette; target 2.", "EOS 159.7 GBq in 15.0 mL."
    )
    s.qc(0, "05:35")
    s.move(0, "06:20", "QP_REVIEW", "qp", "Reviewing; radionuclidic identity printout requested from QC.")

    # Today: PSMA waiting for QC.
    s = _plan(
        clock,
        p,
        "PSMA11",
        0,
        "06:00",
        40,
        "HC-2",
        1900,
        ("KFSH",),
        (-1, "15:00"),
        "Ga-68 PSMA-11 for the KFSH prostate list (6 patients, moved from yesterday).",
    )
    s.move(-1, "15:02", "SCHEDULED", "planner", "Generator elution booked for 05:45.")
    _produce(
        s,
        0,
        "06:02",
        "06:38",
        1850,
        "Trasis AllInOne, PSMA-11 kit; elution yield 78 %.",
        "EOS 1.85 GBq in 8.0 mL.",
    )

    # Tomorrow: one scheduled FDG run and one planned NH3 run.
    s = _plan(
        clock,
        p,
        "FDG",
        1,
        "02:30",
        45,
        "HC-1",
        185000,
        hospitals,
        (0, "06:45"),
        "Routine FDG for tomorrow's morning lists.",
    )
    s.move(0, "06:50", "SCHEDULED", "planner", "Target and FASTlab cassette reserved.")
    _plan(
        clock,
        p,
        "NH3",
        1,
        "07:30",
        15,
        "HC-3",
        6000,
        ("KFSH",),
        (0, "06:55"),
        "[13N]Ammonia for a cardiac PET slot at KFSH; to be confirmed by the hospital.",
    )
    return {"demo_batches": db.session.execute(select(db.func.count(Batch.id))).scalar_one()}

"""The application's clock: the real time, or a story's time while seeding past days.

Services that stamp a record read `now()` (a Python value) or `stamp()` (for a timestamp column:
the database clock) instead of `datetime.now()` / `func.now()`. Outside `frozen()` both are the real
clock. Inside `frozen(at, step)`, used only by the demo seed and test factories to tell a believable
past day, every record written carries the story's time: `now()` and `stamp()` give the current
story instant, and `tick()` (one per batch event) moves it on by `step` after the first call, so
the events of one act are `at, at + step, ...` and the audit rows, signatures and QC records written
with each event carry that event's time. Requests and jobs never freeze the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import func


class _Story:
    def __init__(self, at: dt.datetime, step: dt.timedelta):
        if at.tzinfo is None:
            raise ValueError("a story time needs its time zone")
        self.at, self.step, self.ticks = at.astimezone(dt.UTC), step, 0

    def tick(self) -> dt.datetime:
        if self.ticks:
            self.at += self.step
        self.ticks += 1
        return self.at


_story: ContextVar[_Story | None] = ContextVar("story_clock", default=None)


@contextmanager
def frozen(at: dt.datetime, step: dt.timedelta = dt.timedelta(seconds=30)) -> Iterator[None]:
    """Write everything inside the block at the story's time `at` (seeds and test factories only)."""
    token = _story.set(_Story(at, step))
    try:
        yield
    finally:
        _story.reset(token)


def is_frozen() -> bool:
    return _story.get() is not None


def now() -> dt.datetime:
    """The current instant (UTC): the story's while frozen, else the real clock."""
    story = _story.get()
    return story.at if story is not None else dt.datetime.now(dt.UTC)


def stamp() -> Any:
    """A value for a timestamp column: the story's instant while frozen, else the database clock."""
    story = _story.get()
    return story.at if story is not None else func.clock_timestamp()


def tick() -> dt.datetime | None:
    """The next event time while frozen (None on the real clock: the database stamps the event)."""
    story = _story.get()
    return story.tick() if story is not None else None

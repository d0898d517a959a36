"""Idempotent seeds: roles, demo users, master data and the demo day."""

from __future__ import annotations


def run_seeds(demo: bool = True) -> dict[str, int]:
    from seeds import users

    summary: dict[str, int] = {}
    summary.update(users.seed())
    from seeds import master_data

    summary.update(master_data.seed())
    from seeds import qc

    with _set_up_time(demo):
        summary.update(qc.seed())
    from seeds import release

    with _set_up_time(demo):
        summary.update(release.seed())
    if demo:
        from seeds import capacity

        summary.update(capacity.seed())
        from seeds import demo_batches

        summary.update(demo_batches.seed())
        from seeds import orders  # after the demo day: it skips itself once any batch exists

        summary.update(orders.seed())
        from seeds import dispensing

        summary.update(dispensing.seed())  # after the orders seed (its own orders when none)
    return summary


def _set_up_time(demo: bool):
    """The demo's set-up (QC templates approved, QP rights granted) is dated before its first day."""
    from contextlib import nullcontext

    if not demo:
        return nullcontext()
    from app.core import clock
    from seeds.demo_batches import story_start

    return clock.frozen(story_start())

"""Hooks for the parts above batches (dispensing, logistics), so that `batches` never imports them.

The journey page shows dose units, shipments and material lots, which live in parts above
batches. Those parts register providers here at start-up; without them the tabs show their honest
"not recorded yet" states and the counts stay zero. QC (also above batches) calls
`after_release_failed` when an after-release test fails; dispensing/logistics listen (recall).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_tab_providers: dict[str, Callable[[int, Any], dict[str, Any]]] = {}
_count_providers: list[Callable[[int], dict[str, Any]]] = []
_after_release_failure: list[Callable[[Any, str, Any], None]] = []


def register_tab_provider(tab: str, provider: Callable[[int, Any], dict[str, Any]]) -> None:
    """`provider(batch_id, actor)` -> the data the journey's `tab` template reads as `tab_data`."""
    _tab_providers[tab] = provider


def tab_data(tab: str, batch_id: int, actor: Any) -> dict[str, Any] | None:
    provider = _tab_providers.get(tab)
    return provider(batch_id, actor) if provider is not None else None


def register_linked_counts(provider: Callable[[int], dict[str, Any]]) -> None:
    """`provider(batch_id)` -> counts merged into the batch detail (dose units, shipments, orders)."""
    _count_providers.append(provider)


def linked_counts(batch_id: int) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for provider in _count_providers:
        merged.update(provider(batch_id))
    return merged


def register_after_release_failure(listener: Callable[[Any, str, Any], None]) -> None:
    """`listener(batch, reason, actor)`, called inside QC's transaction when an after-release test
    fails (dispensing/logistics open the recall)."""
    _after_release_failure.append(listener)


def after_release_failed(batch: Any, reason: str, actor: Any) -> None:
    for listener in _after_release_failure:
        listener(batch, reason, actor)

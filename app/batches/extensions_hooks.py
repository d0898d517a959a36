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
_count_providers: list[Callable[[list[int]], dict[int, dict[str, Any]]]] = []
_after_release_failure: list[Callable[[Any, str, Any], None]] = []


def register_tab_provider(tab: str, provider: Callable[[int, Any], dict[str, Any]]) -> None:
    """`provider(batch_id, actor)` -> the data the journey's `tab` template reads as `tab_data`."""
    _tab_providers[tab] = provider


def tab_data(tab: str, batch_id: int, actor: Any) -> dict[str, Any] | None:
    provider = _tab_providers.get(tab)
    return provider(batch_id, actor) if provider is not None else None


def register_linked_counts(provider: Callable[[list[int]], dict[int, dict[str, Any]]]) -> None:
    """`provider(batch_ids)` -> per batch id, the counts merged into the batch's list item and detail
    (dose units, shipments). It answers for a whole page of the list in one query, never one per row,
    and returns an entry for every id asked. Registering the same provider again (a second app in the
    same process, as tests do) keeps one: each count is read once."""
    if provider not in _count_providers:
        _count_providers.append(provider)


def linked_counts(batch_ids: list[int]) -> dict[int, dict[str, Any]]:
    merged: dict[int, dict[str, Any]] = {batch_id: {} for batch_id in batch_ids}
    if not batch_ids:
        return merged
    for provider in _count_providers:
        for batch_id, counts in provider(batch_ids).items():
            merged[batch_id].update(counts)
    return merged


def register_after_release_failure(listener: Callable[[Any, str, Any], None]) -> None:
    """`listener(batch, reason, actor)`, called inside QC's transaction when an after-release test
    fails (dispensing/logistics open the recall). Registering the same listener again (a second app
    in one process) changes nothing: one failure opens one recall."""
    if listener not in _after_release_failure:
        _after_release_failure.append(listener)


def after_release_failed(batch: Any, reason: str, actor: Any) -> None:
    for listener in _after_release_failure:
        listener(batch, reason, actor)

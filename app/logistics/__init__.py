"""Logistics: packages, transport index and category, UN numbers, shipments, chain of custody, delivery,
the genealogy page and recalls.

The pure rules live in `app.logistics.domain`; services, models and pages of this part build on them.
"""

from __future__ import annotations

from typing import Any


def _logistics_tab(batch_id: int, actor: Any) -> dict[str, Any]:
    from app.logistics import queries

    return queries.batch_shipments(batch_id, actor)


def _counts(batch_ids: list[int]) -> dict[int, dict[str, Any]]:
    from app.logistics import queries

    return queries.shipment_counts(batch_ids)


def register(appbuilder) -> None:
    """Pages, APIs, the journey's Logistics tab and the recall after a failed after-release test."""
    from app.batches import extensions_hooks
    from app.core.ui import Look, register_looks
    from app.logistics import api, recall, views

    register_looks(
        "consignment",
        {
            "PLANNED": Look("Planned", "neutral", "circle"),
            "PACKED": Look("Packed", "work", "box"),
            "DISPATCHED": Look("Dispatched", "ok", "truck"),
            "DELIVERED": Look("Delivered", "done", "check"),
            "CANCELLED": Look("Cancelled", "bad", "ban"),
        },
        Look("—", "neutral", "minus"),
    )
    api.register(appbuilder)
    views.register(appbuilder)
    extensions_hooks.register_tab_provider("logistics", _logistics_tab)
    extensions_hooks.register_linked_counts(_counts)
    extensions_hooks.register_after_release_failure(recall.after_release_test_failed)

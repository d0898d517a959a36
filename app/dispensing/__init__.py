"""Dispensing: dose units drawn from a released batch, activity at calibration time, dose labels.

The pure rules live in `app.dispensing.domain`; services, models and pages of this part build on them.
"""

from __future__ import annotations

from typing import Any


def _dose_tab(batch_id: int, actor: Any) -> dict[str, Any]:
    from app.dispensing import queries

    return queries.doses_of_batch(batch_id, actor)


def _materials_tab(batch_id: int, actor: Any) -> dict[str, Any]:
    from app.dispensing import materials

    return {"lots": materials.lots_of_batch(batch_id)}


def _counts(batch_ids: list[int]) -> dict[int, dict[str, Any]]:
    from app.dispensing import queries

    return queries.counts_many(batch_ids)


def register(appbuilder) -> None:
    """This part's pages and APIs, and its providers for the batch journey's tabs."""
    from app.batches import extensions_hooks
    from app.core.ui import Look, register_looks
    from app.dispensing import api, views

    register_looks(
        "dose",
        {
            "PLANNED": Look("Planned", "neutral", "circle"),
            "DISPENSED": Look("Dispensed", "work", "syringe"),
            "PACKED": Look("Packed", "ok", "box"),
            "SHIPPED": Look("Shipped", "done", "truck"),
            "DELIVERED": Look("Delivered", "done", "check"),
            "CANCELLED": Look("Cancelled", "bad", "ban"),
        },
        Look("—", "neutral", "minus"),
    )

    api.register(appbuilder)
    views.register(appbuilder)
    extensions_hooks.register_tab_provider("dose-units", _dose_tab)
    extensions_hooks.register_tab_provider("materials", _materials_tab)
    extensions_hooks.register_linked_counts(_counts)

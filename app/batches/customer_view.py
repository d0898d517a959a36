"""What a hospital (Customer role) sees of a batch's history: customer-facing milestones only.

One filter for every page, API and export a Customer can reach (the journey timeline, GET
/api/v1/batches/<id>/events, events.csv, the journey CSV and PDF), all of which read
`queries.batch_events`. Internal records stay internal: no staff names or roles, no production
notes, no QC values, OOS cases, corrections or deviation reasons. A hold or rejection is told in
plain words, without the reason.
"""

from __future__ import annotations

from typing import Any

# to_status -> (title, plain words for the hospital)
MILESTONES: dict[str, tuple[str, str]] = {
    "PLANNED": ("Batch planned", "Your doses are planned in this batch."),
    "RELEASED": ("Batch released", "The batch passed quality control and was released."),
    "DISPATCHED": ("Batch dispatched", "Your doses are on the way."),
    "DELIVERED": ("Delivered", "Your doses were delivered."),
    "CLOSED": ("Batch completed", "The batch record is complete."),
    "ON_HOLD": ("Batch on hold", "The batch is on hold; we will let you know when it can continue."),
    "REJECTED": ("Batch rejected", "The batch was rejected and will not be delivered."),
    "CANCELLED": ("Batch cancelled", "The batch was cancelled and will not be produced."),
}
COMPANY = "RadioPharma"


def customer_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The status milestones a hospital may see, in order, with nothing internal in them."""
    out: list[dict[str, Any]] = []
    for e in events:
        status = e.get("to_status")
        if e.get("event_type") != "STATUS_CHANGE" or status not in MILESTONES:
            continue
        title, words = MILESTONES[status]
        out.append(
            {
                "id": e["id"],
                "event_type": "MILESTONE",
                "title": title,
                "from_status": None,
                "from_status_label": None,
                "to_status": status,
                "to_status_label": e.get("to_status_label"),
                "actor": {"id": None, "name": COMPANY, "role": ""},
                "occurred_at": e["occurred_at"],
                "note": words,
                "is_override": False,
                "signature_id": None,
            }
        )
    return out


def customer_milestones(milestones: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The journey stepper without who did each step or why a batch is blocked (plain words only)."""
    out = []
    for m in milestones:
        item = {**m, "by": None, "role": None}
        if item.get("blocked_reason"):
            item["blocked_reason"] = str(item["blocked_reason"]).split(":")[0]
        out.append(item)
    return out

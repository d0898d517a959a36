"""Pure logistics rules (no Flask, no database): import from here.

- `transport`: transport index, package category, UN number and the A2 table (IAEA SSR-6 (Rev.1))
- `shipments`: the shipment state machine as data and the chain of custody
"""

from app.logistics.domain.shipments import (
    CUSTODY_KINDS,
    CUSTODY_LABELS,
    SHIPMENT_STATES,
    SHIPMENT_TRANSITIONS,
    ShipmentTransition,
    allowed_shipment_transitions,
    check_custody_entry,
    check_shipment_transition,
    custody_label,
    next_custody_kind,
    shipment_state_label,
)
from app.logistics.domain.transport import (
    A2_TBQ,
    CATEGORIES,
    UN_EXCEPTED,
    UN_TYPE_A,
    content_fractions,
    transport_category,
    transport_index,
    un_number,
)

__all__ = [
    "A2_TBQ",
    "CATEGORIES",
    "CUSTODY_KINDS",
    "CUSTODY_LABELS",
    "SHIPMENT_STATES",
    "SHIPMENT_TRANSITIONS",
    "UN_EXCEPTED",
    "UN_TYPE_A",
    "ShipmentTransition",
    "allowed_shipment_transitions",
    "check_custody_entry",
    "check_shipment_transition",
    "content_fractions",
    "custody_label",
    "next_custody_kind",
    "shipment_state_label",
    "transport_category",
    "transport_index",
    "un_number",
]

"""Activity units live in masterdata (`app.masterdata.domain.units`), so every part can show them."""

from app.masterdata.domain.units import (
    GBQ_ABOVE_MBQ,
    MBQ_PER_MCI,
    UNITS,
    format_activity,
    format_activity_both,
    mbq_to_mci,
    mci_to_mbq,
)

__all__ = [
    "GBQ_ABOVE_MBQ",
    "MBQ_PER_MCI",
    "UNITS",
    "format_activity",
    "format_activity_both",
    "mbq_to_mci",
    "mci_to_mbq",
]

"""Pure dispensing rules (no Flask, no database): import from here.

- `states`: the dose unit state machine as data, and the release gate a dose inherits from its batch
- `activity`: what to draw now, volume, vial balance, how long a dose lasts, calibrator tolerance
- `units`: exact MBq <-> mCi and activity display
- `labels`: the dose label fields and their ZPL II rendering
- `clock`: UTC instants and local time with the zone named (elapsed time is masterdata's
  `decay.seconds_between`, re-exported here as `elapsed_seconds_utc`)
"""

from app.dispensing.domain.activity import (
    READING_TOLERANCE,
    UsableUntil,
    VialRemaining,
    activity_to_draw_now,
    check_reading,
    concentration_now,
    reading_deviation,
    usable_until,
    vial_remaining,
    volume_to_draw_ml,
)
from app.dispensing.domain.clock import local_text
from app.dispensing.domain.labels import (
    LabelFields,
    activity_lines,
    half_life_text,
    label_fields,
    zpl_escape,
    zpl_label,
)
from app.dispensing.domain.states import (
    DOSE_STATES,
    DOSE_TRANSITIONS,
    DoseTransition,
    allowed_dose_transitions,
    check_can_dispense,
    check_can_pack_or_dispatch,
    check_dose_transition,
    dose_state_label,
)
from app.dispensing.domain.units import (
    MBQ_PER_MCI,
    format_activity,
    format_activity_both,
    mbq_to_mci,
    mci_to_mbq,
)
from app.masterdata.domain.decay import seconds_between as elapsed_seconds_utc

__all__ = [
    "DOSE_STATES",
    "DOSE_TRANSITIONS",
    "MBQ_PER_MCI",
    "READING_TOLERANCE",
    "DoseTransition",
    "LabelFields",
    "UsableUntil",
    "VialRemaining",
    "activity_lines",
    "activity_to_draw_now",
    "allowed_dose_transitions",
    "check_can_dispense",
    "check_can_pack_or_dispatch",
    "check_dose_transition",
    "check_reading",
    "concentration_now",
    "dose_state_label",
    "elapsed_seconds_utc",
    "format_activity",
    "format_activity_both",
    "half_life_text",
    "label_fields",
    "local_text",
    "mbq_to_mci",
    "mci_to_mbq",
    "reading_deviation",
    "usable_until",
    "vial_remaining",
    "volume_to_draw_ml",
    "zpl_escape",
    "zpl_label",
]

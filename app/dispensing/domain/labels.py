"""The dose label: the fields it must carry, and a ZPL II rendering for a 4 x 6 inch thermal label.

`label_fields` is what is stored as the dose unit's label data (JSON, strings only) and what any
renderer (ZPL here, PDF later) prints, so a reprint shows exactly what was printed first.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TypedDict

from app.core.domain import ValidationFailed
from app.dispensing.domain.clock import local_text
from app.dispensing.domain.units import format_activity_both
from app.masterdata.domain import decay

CAUTION = "Caution – Radioactive Material"


class LabelFields(TypedDict):
    caution: str
    product: str
    radionuclide: str
    batch_number: str
    dose_unit_id: str
    activity: str  # at calibration time, MBq first and mCi in brackets: '370 MBq (10.00 mCi)'
    calibration: str  # local time, zone named
    volume: str
    expiry: str
    half_life: str
    order_reference: str  # the hospital's pseudonymous order reference, never a patient name
    manufacturer: str
    manufacturer_address: str


LABEL_KEYS = tuple(LabelFields.__annotations__)


def half_life_text(half_life_s: float | int | Decimal) -> str:
    """'T½ 109.77 min – correct for decay' (the label tells the user the activity is time-bound)."""
    value, unit = decay.half_life_parts(half_life_s)
    number = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"T½ {number} {unit} – correct for decay"


def label_fields(
    *,
    product_name: str,
    radionuclide: str,
    batch_number: str,
    dose_unit_id: str,
    activity_mbq_at_calibration: float | int | Decimal,
    calibration_at: dt.datetime,
    volume_ml: float | int | Decimal,
    expires_at: dt.datetime,
    half_life_s: float | int | Decimal,
    hospital_order_reference: str,
    manufacturer_name: str,
    manufacturer_address: str,
    tz_name: str,
) -> LabelFields:
    """Every field a dose label needs, as display strings; times local to `tz_name`, zone named.

    The activity is in both units, MBq first and mCi in brackets, whoever prints the label: a label
    travels to readers of either unit, and a reprint must match the first print.

    Refused (ValidationFailed, 422) when a text is blank or the volume is not positive: a label
    missing its batch number or order reference must never be printed.
    """
    texts = {
        "product_name": product_name,
        "radionuclide": radionuclide,
        "batch_number": batch_number,
        "dose_unit_id": dose_unit_id,
        "hospital_order_reference": hospital_order_reference,
        "manufacturer_name": manufacturer_name,
        "manufacturer_address": manufacturer_address,
    }
    missing = {name: "Required on the label." for name, text in texts.items() if not text.strip()}
    volume = float(volume_ml)
    if not math.isfinite(volume) or volume <= 0:
        missing["volume_ml"] = "The volume must be a positive number of mL."
    if missing:
        raise ValidationFailed("The label can't be made: some of its fields are missing.", missing)
    return LabelFields(
        caution=CAUTION,
        product=product_name.strip(),
        radionuclide=radionuclide.strip(),
        batch_number=batch_number.strip(),
        dose_unit_id=dose_unit_id.strip(),
        activity=format_activity_both(Decimal(str(activity_mbq_at_calibration))),
        calibration=local_text(calibration_at, tz_name),
        volume=f"{volume:.2f} mL",
        expiry=local_text(expires_at, tz_name),
        half_life=half_life_text(half_life_s),
        order_reference=hospital_order_reference.strip(),
        manufacturer=manufacturer_name.strip(),
        manufacturer_address=manufacturer_address.strip(),
    )


def activity_lines(activity: str) -> tuple[str, str]:
    """'370 MBq (10.00 mCi)' as its two lines on a label, ('370 MBq', '(10.00 mCi)'), so a narrow label
    breaks between the units and never inside a number; ('370 MBq', '') for a label printed before
    both units were shown."""
    main, bracket, rest = activity.partition(" (")
    return main, f"({rest}" if bracket else ""


# --- ZPL II -------------------------------------------------------------------------------------
DPI = 203
WIDTH_DOTS = 4 * DPI  # 812
LENGTH_DOTS = 6 * DPI  # 1218
_MARGIN = 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# ^FH turns _XX into the byte XX. Escaped: the command prefixes ^ and ~, the escape character _ itself,
# the \ that ^FB reads as a line break, and every non-ASCII byte (UTF-8 under ^CI28), so field data
# can never end the field or start a command.
_ESCAPED = frozenset("^~_\\")


def zpl_escape(text: str) -> str:
    """Field data for `^FH^FD...^FS`: control characters become spaces, the rest as _XX hex bytes."""
    out: list[str] = []
    for char in _CONTROL.sub(" ", text):
        if char in _ESCAPED or not " " <= char <= "~":
            out.extend(f"_{byte:02X}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    return "".join(out)


def _text(
    y: int, height: int, text: str, *, x: int = _MARGIN, width: int = WIDTH_DOTS - 2 * _MARGIN, lines: int = 1
) -> str:
    return f"^FO{x},{y}^A0N,{height},{height}^FB{width},{lines},4,L,0^FH^FD{zpl_escape(text)}^FS"


def zpl_label(fields: Mapping[str, str]) -> str:
    """A ZPL II label, 4 x 6 inch at 203 dpi, with a QR code (^BQ) of the dose unit id.

    `fields` are `label_fields(...)`; a missing key is refused (ValidationFailed) rather than printed blank.
    """
    missing = {
        key: "Missing from the label data." for key in LABEL_KEYS if not str(fields.get(key, "")).strip()
    }
    if missing:
        raise ValidationFailed("The label data is incomplete; it can't be printed.", missing)
    f = {key: str(fields[key]) for key in LABEL_KEYS}
    activity, other_unit = activity_lines(f["activity"])
    rows = [
        _text(40, 40, f["caution"]),
        _text(100, 52, f["product"], lines=2),
        _text(230, 34, f"Radionuclide: {f['radionuclide']}"),
        _text(280, 34, f"Batch: {f['batch_number']}"),
        _text(330, 34, f"Dose unit: {f['dose_unit_id']}"),
        _text(390, 48, f"Activity: {activity}"),
        *(
            [_text(444, 48, other_unit, x=_MARGIN + 168, width=WIDTH_DOTS - 168 - 2 * _MARGIN)]
            if other_unit
            else []
        ),
        _text(510, 30, f"at {f['calibration']}"),
        _text(560, 34, f"Volume: {f['volume']}"),
        _text(610, 30, f"Expiry: {f['expiry']}"),
        _text(660, 30, f["half_life"]),
        _text(715, 34, f"Order ref: {f['order_reference']}"),
        f"^FO{_MARGIN},800^BQN,2,7^FH^FDQA,{zpl_escape(f['dose_unit_id'])}^FS",
        _text(820, 28, f["manufacturer"], x=330, width=WIDTH_DOTS - 330 - _MARGIN),
        _text(860, 26, f["manufacturer_address"], x=330, width=WIDTH_DOTS - 330 - _MARGIN, lines=5),
    ]
    header = ["^XA", "^CI28", f"^PW{WIDTH_DOTS}", f"^LL{LENGTH_DOTS}", "^LH0,0"]
    return "\n".join([*header, *rows, "^XZ"]) + "\n"

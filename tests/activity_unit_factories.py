"""Factories for the activity-unit tests (issue 13 item 8): a demo user's unit (`prefer("logi", "mCi")`,
written in the test's transaction), a PDF's text, and a shipment packed from doses read at round
activities."""

from __future__ import annotations

import datetime as dt
import io

from app.core.extensions import db
from app.dispensing import service as dispensing
from app.dispensing.models import DoseUnit
from app.logistics import service as logistics
from app.logistics.models import Package, Shipment
from app.masterdata import preferences
from tests.batch_factories import actor
from tests.dispensing_factories import customer, order_into, released_batch


def prefer(username: str, unit: str) -> None:
    user_id = db.session.execute(
        db.text("select id from ab_user where username = :name"), {"name": username}
    ).scalar_one()
    preferences.save_activity_unit(user_id, unit)


def pdf_text(data: bytes) -> str:
    """The text of a PDF's pages, for comparing what two readers were given."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def packed_shipment(packed=(370, 740), waiting=(555,)) -> tuple[Shipment, list[DoseUnit], Package]:
    """Doses read at exactly `packed` MBq, packed for KFSH, and doses read at `waiting` MBq still to be
    packed (calibration a minute from now, so each reading is inside the calibrator tolerance)."""
    batch = released_batch()
    now = dt.datetime.now(dt.UTC)
    order_into(
        batch,
        [*packed, *waiting],
        cust=customer(),
        calibration_at=now + dt.timedelta(minutes=1),
        ref="KFSH-U-1",
    )
    doses = [
        dispensing.dispense_dose(d.id, d.activity_at_calibration_mbq, actor("disp"), now=now)
        for d in dispensing.create_dose_units(batch.id, actor("disp"))
    ]
    s = logistics.create_shipment(customer().id, actor("logi"), courier="MedExpress")
    to_pack = [d.id for d in doses if d.measured_activity_mbq in packed]
    logistics.pack_package(s.id, to_pack, "0.02", "0.004", actor("logi"))
    package = db.session.query(Package).filter_by(shipment_id=s.id).one()
    return s, doses, package


def save_pdf(name: str, data: bytes) -> None:
    """The PDF and a picture of its first page in test-artifacts/, to look at."""
    from tests.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.pdf").write_bytes(data)
    try:
        import pypdfium2 as pdfium
    except ImportError:  # pragma: no cover - a dev dependency
        return
    pdfium.PdfDocument(data)[0].render(scale=1.5).to_pil().save(ARTIFACTS / f"{name}.png")

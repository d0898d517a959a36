"""The label sheet of a batch: one PDF with every dispensed dose's label, and the ZPL of one."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core.extensions import db
from app.dispensing import service
from app.dispensing.domain import activity_to_draw_now
from app.masterdata.models import Product
from tests.batch_factories import actor
from tests.conftest import ARTIFACTS
from tests.dispensing_factories import order_into, released_batch

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_label_sheet_pdf_and_zpl(api):
    batch = released_batch()
    db.session.get(Product, batch.product_id).name_ar = "فلوروديوكسي غلوكوز"
    db.session.commit()
    order_into(batch, [400, 350, 300], ref="KFSH-A17")
    now = dt.datetime.now(dt.UTC)
    for d in service.create_dose_units(batch.id, actor("disp")):
        expected = activity_to_draw_now(d.activity_at_calibration_mbq, d.calibration_at, now, 6586.2)
        service.dispense_dose(d.id, round(expected, 1), actor("disp"), now=now)
    r = api("disp").get(f"/api/v1/batches/{batch.id}/labels.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    (ARTIFACTS / "dose-labels.pdf").write_bytes(r.data)
    try:
        import pypdfium2 as pdfium

        page = pdfium.PdfDocument(r.data)[0]
        page.render(scale=1.5).to_pil().save(ARTIFACTS / "dose-labels.png")
    except ImportError:
        pass
    zpl = api("disp").get(f"/api/v1/dose-units/{d.id}/label.zpl")
    assert zpl.status_code == 200 and b"^BQN" in zpl.data and b"KFSH-A17" in zpl.data

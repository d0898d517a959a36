"""The genealogy page and its CSV/PDF exports, the transport document, the QP's reason in
BATCH_BLOCKED refusals, and the recall a failed after-release test opens through QC."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.batches import service as batches
from app.core.actor import Actor
from app.core.domain import DomainError
from app.core.extensions import db
from app.dispensing import materials
from app.dispensing import service as dispensing
from app.dispensing.domain import activity_to_draw_now
from app.dispensing.models import DoseUnit
from app.logistics import service
from app.logistics.models import Recall, RecallItem
from app.masterdata.models import CustomerUser, Material
from app.notifications.models import Notification
from tests.batch_factories import actor
from tests.conftest import login_page
from tests.dispensing_factories import customer, material_lot, order_into, released_batch

pytestmark = pytest.mark.usefixtures("app_ctx")
F18 = 6586.2


def _draw(batch, activities=(400, 300), cust=None, ref=None) -> list[DoseUnit]:
    order_into(batch, list(activities), cust=cust, ref=ref)
    now = dt.datetime.now(dt.UTC)
    return [
        dispensing.dispense_dose(
            d.id,
            round(activity_to_draw_now(d.activity_at_calibration_mbq, d.calibration_at, now, F18), 1),
            actor("disp"),
            now=now,
        )
        for d in dispensing.create_dose_units(batch.id, actor("disp"))
    ]


def _lot_to_shipment():
    """A lot used by a batch whose two doses are packed into a shipment to KFSH."""
    from tests.batch_factories import forge_state

    lot = material_lot("GEN-KIT")
    batch = released_batch()
    forge_state(batch, "IN_PRODUCTION")
    materials.record_material_lot(batch.id, lot.id, "1", actor("prod"))
    forge_state(db.session.get(type(batch), batch.id), "RELEASED")
    doses = _draw(batch, ref="KFSH-GEN-7")
    s = service.create_shipment(customer().id, actor("logi"), courier="MedExpress")
    service.pack_package(s.id, [d.id for d in doses], "0.02", "0.004", actor("logi"))
    return lot, batch, doses, s


# --- genealogy page and exports -----------------------------------------------------------------
def test_genealogy_page_walks_from_a_lot_to_the_hospitals_shipment(client):
    lot, batch, doses, s = _lot_to_shipment()
    login_page(client, "logi")
    r = client.get(f"/logistics/genealogy/?start=lot:{lot.id}&direction=forward")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    for text in (lot.supplier_lot_no, batch.batch_no, f"DU-{doses[0].id:06d}", s.shipment_no, "KFSH-GEN-7"):
        assert text in page, text
    assert "Traceback" not in page


def test_genealogy_page_refuses_a_start_it_does_not_understand(client):
    login_page(client, "logi")
    r = client.get("/logistics/genealogy/?start=pallet:3")
    assert r.status_code == 422
    assert "start must be lot:&lt;id&gt;" in r.get_data(as_text=True) or "lot:" in r.get_data(as_text=True)


def test_genealogy_page_needs_the_permission(client):
    login_page(client, "hospital")
    r = client.get("/logistics/genealogy/")
    assert r.status_code in (302, 403)


def test_genealogy_csv_neutralises_formula_cells(client):
    lot = material_lot("CSV-KIT")
    db.session.get(Material, lot.material_id).unit = "=1+2"
    db.session.commit()
    from tests.batch_factories import forge_state, new_batch

    batch = forge_state(new_batch(), "IN_PRODUCTION")
    evil = Actor(actor("prod").user_id, "prod", '@SUM(A1) =HYPERLINK("http://x")', ("Production",))
    materials.record_material_lot(batch.id, lot.id, "2", evil)
    login_page(client, "logi")
    r = client.get(f"/logistics/genealogy/export.csv?start=lot:{lot.id}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0][:5] == ["direction", "depth", "from", "to", "event"]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["unit"] == "'=1+2"
    assert row["by"].startswith("'@SUM")
    assert row["to"].startswith("Batch " + batch.batch_no)
    assert not any(cell[:1] in ("=", "+", "-", "@") for r_ in rows for cell in r_)


def test_genealogy_csv_and_pdf_need_a_start(client):
    login_page(client, "logi")
    assert client.get("/logistics/genealogy/export.csv").status_code == 422
    assert client.get("/logistics/genealogy/export.pdf").status_code == 422


def test_genealogy_pdf_lists_every_node(client):
    lot, batch, doses, s = _lot_to_shipment()
    login_page(client, "qp")
    r = client.get(f"/logistics/genealogy/export.pdf?start=lot:{lot.id}&direction=both")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    for expected in (lot.supplier_lot_no, batch.batch_no, f"DU-{doses[1].id:06d}", s.shipment_no):
        assert expected in text, expected


def test_genealogy_api_answers_both_directions_from_a_dose(api):
    lot, batch, doses, s = _lot_to_shipment()
    r = api("qp").get(f"/api/v1/genealogy?start=dose:{doses[0].id}&direction=both")
    assert r.status_code == 200, r.json
    pairs = {(e["parent"], e["child"], e["direction"]) for e in r.json["edges"]}
    assert (f"lot:{lot.id}", f"batch:{batch.id}", "backward") in pairs
    assert (f"dose:{doses[0].id}", f"shipment:{s.id}", "forward") in pairs


# --- transport document -------------------------------------------------------------------------
def test_transport_document_names_un_number_category_ti_and_contents(api):
    lot, batch, doses, s = _lot_to_shipment()
    r = api("logi").get(f"/api/v1/shipments/{s.id}/transport-document")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    for expected in (s.shipment_no, "UN 2915", "II-YELLOW", "0.4", "F-18", customer().name, "MedExpress"):
        assert expected in text, expected
    assert f"DU-{doses[0].id:06d}" in text


def test_transport_document_is_the_hospitals_own_only(api):
    lot, batch, doses, s = _lot_to_shipment()
    other = customer("KAMC-T")
    own = db.session.execute(
        select(CustomerUser).where(CustomerUser.user_id == actor("hospital").user_id)
    ).scalar_one()
    if own.customer_id == other.id:  # pragma: no cover - the demo hospital is KFSH
        pytest.skip("demo hospital user is linked to the other hospital")
    foreign = service.create_shipment(other.id, actor("logi"))
    assert api("hospital").get(f"/api/v1/shipments/{foreign.id}/transport-document").status_code == 404


# --- the QP's reason in BATCH_BLOCKED -----------------------------------------------------------
HOLD = "Filter integrity printout missing; do not ship until it is attached."


def _hold(batch) -> None:
    from app.release import service as release
    from tests.qc_factories import PASSWORD

    release.decide_disposition(batch.id, "HOLD", actor=actor("qp"), password=PASSWORD, comment=HOLD)


def test_packing_refused_with_the_qps_hold_reason_and_allowed_once_lifted():
    batch = released_batch()
    doses = _draw(batch, (400,))
    _hold(batch)
    s = service.create_shipment(customer().id, actor("logi"))
    with pytest.raises(DomainError) as err:
        service.pack_package(s.id, [d.id for d in doses], "0.002", "0", actor("logi"))
    assert err.value.code == "BATCH_BLOCKED"
    assert HOLD in err.value.user_message
    from app.release import service as release
    from tests.qc_factories import PASSWORD

    release.decide_disposition(
        batch.id, "LIFT_HOLD", actor=actor("qp"), password=PASSWORD, comment="Printout attached."
    )
    service.pack_package(s.id, [d.id for d in doses], "0.002", "0", actor("logi"))


def test_dispatch_refused_with_the_qps_hold_reason_over_the_api(api):
    batch = released_batch()
    doses = _draw(batch, (400,))
    s = service.create_shipment(customer().id, actor("logi"))
    service.pack_package(s.id, [d.id for d in doses], "0.002", "0", actor("logi"))
    _hold(batch)
    r = api("logi").post(f"/api/v1/shipments/{s.id}/dispatch", json={})
    assert r.status_code == 409
    assert r.json["code"] == "BATCH_BLOCKED" and HOLD in r.json["userMessage"]


# --- recall opened by a failed after-release test -----------------------------------------------
def test_failed_sterility_after_release_recalls_the_batch_flags_doses_and_notifies():
    from app.release import service as release
    from seeds.qc import run_batch_qc
    from tests.qc_factories import PASSWORD, enter, make_batch

    batch = make_batch("FDG")
    assert run_batch_qc(batch.id) == "QC_PASSED"
    batches.transition_batch(batch.id, "QP_REVIEW", actor("qp"))
    release.decide_disposition(batch.id, "RELEASE", actor=actor("qp"), password=PASSWORD)
    doses = _draw(batch, (400, 300), ref="KFSH-STER-1")
    enter(batch.id, {"STERILITY": {"pass_fail_value": "FAIL"}})

    recalls = list(
        db.session.execute(
            select(Recall).where(Recall.start_type == "BATCH", Recall.start_id == batch.id)
        ).scalars()
    )
    assert len(recalls) == 1
    recall = recalls[0]
    assert recall.automatic and "Sterility" in recall.reason
    items = list(db.session.execute(select(RecallItem).where(RecallItem.recall_id == recall.id)).scalars())
    assert sorted(i.dose_unit_id for i in items) == sorted(d.id for d in doses)
    assert {i.hospital_order_reference for i in items} == {"KFSH-STER-1"}
    for d in doses:
        assert db.session.get(DoseUnit, d.id).recalled_at is not None
    notes = list(
        db.session.execute(
            select(Notification).where(
                Notification.entity_type == "Recall", Notification.entity_id == str(recall.id)
            )
        ).scalars()
    )
    recipients = {n.user_id for n in notes}
    assert actor("qp").user_id in recipients and actor("hospital").user_id in recipients


def test_recall_page_shows_doses_orders_and_shipments(client):
    from app.logistics import recall as recalls

    lot, batch, doses, s = _lot_to_shipment()
    service.dispatch_shipment(s.id, actor("logi"))
    r = recalls.open_recall("LOT", lot.id, "Supplier reports precursor contamination.", actor("qp"))
    login_page(client, "qp")
    page = client.get(f"/logistics/recalls/{r.id}").get_data(as_text=True)
    for text in (
        r.recall_no,
        "KFSH-GEN-7",
        s.shipment_no,
        f"DU-{doses[0].id:06d}",
        "precursor contamination",
    ):
        assert text in page, text
    assert "Asia/Riyadh" in page or "+03" in page

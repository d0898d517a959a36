"""Activities on the shipment and genealogy pages in the reader's unit; on the transport document and
the genealogy PDF in both units, whoever prints them (issue 13 item 8)."""

from __future__ import annotations

import pytest

from app.masterdata.domain.units import format_activity, format_activity_both
from tests.activity_unit_factories import packed_shipment, pdf_text, prefer, save_pdf
from tests.conftest import login_page

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_shipment_page_shows_activities_in_the_readers_unit(client):
    s, doses, package = packed_shipment()
    prefer("logi", "mCi")
    prefer("planner", "MBq")
    login_page(client, "logi")
    page = client.get(f"/logistics/shipments/{s.id}").get_data(as_text=True)
    assert page.count("10.00 mCi") == 1 and "20.00 mCi" in page  # the packed doses
    assert "15.00 mCi" in page  # the dose waiting to be packed
    assert f"{format_activity(package.total_activity_mbq, 'mCi')}</bdi> at packing" in page
    assert " MBq<" not in page and "MBq</bdi>" not in page
    client.get("/logout/")
    login_page(client, "planner")
    page = client.get(f"/logistics/shipments/{s.id}").get_data(as_text=True)
    assert "370 MBq" in page and "740 MBq" in page and "555 MBq" in page
    assert f"{format_activity(package.total_activity_mbq, 'MBq')}</bdi> at packing" in page
    assert "mCi" not in page


def test_transport_document_is_in_both_units_whoever_prints_it(api):
    s, doses, package = packed_shipment()
    prefer("logi", "mCi")
    prefer("planner", "MBq")
    texts = {}
    for who in ("logi", "planner"):
        r = api(who).get(f"/api/v1/shipments/{s.id}/transport-document")
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        texts[who] = pdf_text(r.data)
    save_pdf("transport-document-units", r.data)
    assert texts["logi"] == texts["planner"]
    for expected in (
        "370 MBq (10.00 mCi)",
        "740 MBq (20.00 mCi)",
        format_activity_both(package.total_activity_mbq),
    ):
        assert expected in texts["logi"], expected
    assert "1 mCi = 37 MBq" in texts["logi"]


def test_genealogy_page_in_the_readers_unit_and_its_pdf_in_both(client):
    s, doses, package = packed_shipment()
    drawn = next(d for d in doses if d.measured_activity_mbq == 370)
    prefer("logi", "mCi")
    prefer("qp", "MBq")
    url = f"/logistics/genealogy/?start=dose:{drawn.id}&direction=backward"
    login_page(client, "logi")
    assert "10.00 mCi" in client.get(url).get_data(as_text=True)  # the draw from the batch: 370 MBq
    mci_pdf = pdf_text(client.get(url.replace("/?", "/export.pdf?")).data)
    client.get("/logout/")
    login_page(client, "qp")
    page = client.get(url).get_data(as_text=True)
    assert "370 MBq" in page and "mCi" not in page
    mbq_pdf = pdf_text(client.get(url.replace("/?", "/export.pdf?")).data)
    assert mci_pdf == mbq_pdf and "370 MBq (10.00 mCi)" in mbq_pdf

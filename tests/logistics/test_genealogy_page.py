"""The genealogy page at scale: a shared node's links drawn once, a large genealogy cut with its
size said (never silently), balanced lists, and a PDF refused (with a pointer to the CSV) above its
limit while the CSV keeps every link."""

from __future__ import annotations

import csv
import io
import re

import pytest

from app.core.extensions import db
from app.genealogy.service import record_edge
from app.logistics import documents, queries
from tests.conftest import login_page
from tests.dispensing_factories import material_lot

pytestmark = pytest.mark.usefixtures("app_ctx")
BASE = 970_000


def _diamond():
    """lot -> batch -> 3 doses -> one shipment -> (a later link from the shipment, e.g. a re-pack)."""
    lot = material_lot("DIAMOND-KIT")
    record_edge(("LOT", lot.id), ("BATCH", BASE), "MATERIAL_USED", "test")
    for d in range(3):
        record_edge(("BATCH", BASE), ("DOSE", BASE + d), "DOSE_DRAWN", "test")
        record_edge(("DOSE", BASE + d), ("SHIPMENT", BASE), "DOSE_PACKED", "test")
    record_edge(("SHIPMENT", BASE), ("DOSE", BASE + 9), "DOSE_PACKED", "test")
    db.session.commit()
    return lot


def test_a_shared_node_s_links_are_drawn_once():
    lot = _diamond()
    page = queries.genealogy_page(("LOT", lot.id), "forward")
    rows = page["sections"][0]["rows"]
    assert [(r["level"], r["node"], r["again"]) for r in rows] == [
        (1, f"batch:{BASE}", False),
        (2, f"dose:{BASE}", False),
        (3, f"shipment:{BASE}", False),
        (4, f"dose:{BASE + 9}", False),
        (2, f"dose:{BASE + 1}", False),
        (3, f"shipment:{BASE}", True),  # shown again, its links not repeated
        (2, f"dose:{BASE + 2}", False),
        (3, f"shipment:{BASE}", True),
    ]
    assert page["links"] == 8 and page["shown"] == 8 and page["sections"][0]["cut"] is False
    assert page["reached"] == {"BATCH": 1, "DOSE": 4, "SHIPMENT": 1}


def test_a_large_genealogy_is_cut_with_its_size_said(client):
    lot = material_lot("WIDE-KIT")
    for b in range(queries.PAGE_LINKS + 40):
        record_edge(("LOT", lot.id), ("BATCH", BASE + b), "MATERIAL_USED", "test")
    db.session.commit()
    page = queries.genealogy_page(("LOT", lot.id), "both", limit=25)
    assert page["shown"] == 25 and page["links"] == queries.PAGE_LINKS + 40
    assert [s["direction"] for s in page["sections"]] == ["backward", "forward"]
    assert page["sections"][1]["cut"] is True and len(page["nodes"]) == 26  # only what is drawn is labelled

    login_page(client, "logi")
    html = client.get(f"/logistics/genealogy/?start=lot:{lot.id}&direction=forward").get_data(as_text=True)
    links = f"{queries.PAGE_LINKS + 40:,}"
    assert f"Showing the first {queries.PAGE_LINKS:,} of {links} links" in html
    assert f"{links} links, reaching {links} batches" in html
    csv_text = client.get(f"/logistics/genealogy/export.csv?start=lot:{lot.id}").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(csv_text)))) == 1 + queries.PAGE_LINKS + 40  # the CSV: every link


def test_the_page_s_lists_are_balanced_and_nothing_is_cut_when_small(client):
    lot = _diamond()
    login_page(client, "logi")
    html = client.get(f"/logistics/genealogy/?start=lot:{lot.id}&direction=both").get_data(as_text=True)
    tree = html[html.index('class="rp-tree-root"') :]
    assert tree.count("<ul") == tree.count("</ul>") and tree.count("<li>") == tree.count("</li>")
    assert "Showing the first" not in html
    assert "(its links are shown above)" in html
    assert re.search(r"8 links, reaching 1 batch, 4 dose units, 1 shipment\.", html)
    assert "Nothing recorded." in html  # a lot came from nowhere


def test_a_pdf_too_large_is_refused_with_a_pointer_to_the_csv(client, monkeypatch):
    lot = _diamond()
    monkeypatch.setattr(documents, "PDF_LINKS", 5)
    login_page(client, "logi")
    r = client.get(f"/logistics/genealogy/export.pdf?start=lot:{lot.id}")
    assert r.status_code == 422
    assert "8 links, too many for a PDF (at most 5)" in r.get_data(as_text=True)
    assert "Download the CSV" in r.get_data(as_text=True)


def test_a_start_beyond_the_id_range_is_not_found(api):
    r = api("qp").get("/api/v1/genealogy?start=lot:99999999999&direction=both")
    assert r.status_code == 404 and set(r.get_json()) >= {"code", "userMessage", "traceId"}

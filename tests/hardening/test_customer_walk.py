"""Everything a hospital (Customer role) can open stays customer-facing (issue 14 section 1, issue 15).

The demo's order journey (seeds.capacity + seeds.dispensing: KFSH's order delivered, KAMC's batch
held after release) plus internal notes, a correction and an OOS-like note on the hospital's own
batch. Then every GET endpoint of the app (pages, API, exports) is opened as the `hospital` user,
with path ids filled from the hospital's own records; each answer that the hospital may see (200) is
read as text and must not contain:
- a staff member's name (the demo users other than the hospital's own),
- an internal note of the batch's history, an OOS or correction word,
- an internal code (a state or error code of the application, `[A-Z_]{6,}`) in what a person reads,
- a file path of the code (`app/...`, `.py`).
"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from seeds.users import DEMO_USERS
from tests.conftest import ROOT, Api, login_page

INTERNAL_NOTES = (
    "elution yield 78 %",
    "Target foil replaced before the run",
    "Radiochemical Purity 91.2 < 95 retest",
)
FORBIDDEN_WORDS = re.compile(
    r"Out-of-Specification|\bOOS\b|Correction|corrected by|deviation reason|Traceback", re.IGNORECASE
)
PATHS = re.compile(r"\bapp/[a-z_]+/|\b[a-z_]+\.py\b")
CODE = re.compile(r"\b[A-Z][A-Z_]{5,}\b")

QP_NAMES = {"Dr. Sara Mansour", "Mansour"}
SKIP_PREFIXES = ("/static", "/appbuilder", "/swagger", "/api/v1/_openapi", "/api/v1/openapi", "/lang/")


def internal_codes() -> set[str]:
    """State and error codes of the application: every quoted `[A-Z_]{6,}` word in the domain
    state tables and every DomainError code in the source."""
    from app.batches.domain.fields import QC_STATUSES, SHIPMENT_STATUSES
    from app.batches.domain.flow import STATES
    from app.dispensing.domain.states import DOSE_STATES
    from app.logistics.domain.shipments import SHIPMENT_STATES
    from app.orders.domain import STATUSES as ORDER_STATUSES
    from app.qc.domain.rules import RESULT_STATUSES

    codes: set[str] = set()
    for table in (
        STATES,
        QC_STATUSES,
        SHIPMENT_STATUSES,
        DOSE_STATES,
        SHIPMENT_STATES,
        ORDER_STATUSES,
        RESULT_STATUSES,
    ):
        codes.update(str(s) for s in table)
    for path in (ROOT / "app").rglob("*.py"):
        text = path.read_text()
        codes.update(
            re.findall(
                r"(?:DomainError|Conflict|Forbidden|NotFound|ValidationFailed)\(\s*\"([A-Z][A-Z_]{5,})\"",
                text,
            )
        )
        codes.update(re.findall(r"\bcode\s*=\s*\"([A-Z][A-Z_]{5,})\"", text))
    return {c for c in codes if re.fullmatch(r"[A-Z][A-Z_]{5,}", c)}


class _Text(HTMLParser):
    """The text a person reads: no tags, scripts, styles or attribute values (except titles and
    placeholders, which are read)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def readable(response) -> str:
    ctype = response.headers.get("Content-Type", "")
    body = response.get_data()
    if ctype.startswith("application/pdf"):
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    if "spreadsheetml" in ctype or ctype.startswith("image/"):
        return ""
    text = body.decode("utf-8", "replace")
    if ctype.startswith("text/html"):
        parser = _Text()
        parser.feed(text)
        return "\n".join(parser.parts)
    if ctype.startswith("application/json"):
        return json.dumps(json.loads(text), ensure_ascii=False)
    return text


@pytest.fixture
def journey(app_ctx):
    """The demo's dispensing story, an internal note, a correction and an OOS note on KFSH's batch."""
    from app.batches.models import Batch, BatchEvent
    from app.core.extensions import db
    from app.dispensing.models import DoseUnit
    from app.logistics.models import Shipment
    from app.masterdata.models import Customer
    from app.notifications.models import Notification
    from app.orders.models import Order
    from seeds import capacity, dispensing

    capacity.seed()
    assert dispensing.seed()["dispensing_journeys"] == 2
    order = db.session.execute(
        select(Order).where(Order.hospital_order_reference == dispensing.DELIVERED_REF)
    ).scalar_one()
    other = db.session.execute(
        select(Order).where(Order.hospital_order_reference == dispensing.HELD_REF)
    ).scalar_one()
    kfsh = db.session.get(Customer, order.customer_id)
    assert kfsh.code == "KFSH"
    dose = db.session.execute(select(DoseUnit).where(DoseUnit.order_id == order.id)).scalars().first()
    batch = db.session.get(Batch, dose.batch_id)
    shipment = db.session.execute(select(Shipment).where(Shipment.customer_id == kfsh.id)).scalars().first()
    last = (
        db.session.execute(
            select(BatchEvent).where(BatchEvent.batch_id == batch.id).order_by(BatchEvent.id.desc())
        )
        .scalars()
        .first()
    )
    for note in INTERNAL_NOTES:
        db.session.add(
            BatchEvent(
                batch_id=batch.id,
                event_type="NOTE",
                title="Production note",
                actor_user_id=last.actor_user_id,
                actor_name=last.actor_name,
                actor_role="Production",
                note=note,
                occurred_at=last.occurred_at,
            )
        )
    db.session.flush()
    notes = {
        n
        for n in db.session.execute(select(BatchEvent.note).where(BatchEvent.batch_id == batch.id)).scalars()
        if n
    }
    hospital = app_ctx.appbuilder.sm.find_user(username="hospital")
    notification = (
        db.session.execute(
            select(Notification).where(Notification.user_id == hospital.id).order_by(Notification.id)
        )
        .scalars()
        .first()
    )
    return {
        "batch": batch,
        "order": order,
        "other_order": other,
        "shipment": shipment,
        "dose": dose,
        "notification": notification,
        "notes": notes,
    }


def _fill(rule, ids: dict[str, int | None]) -> str | None:
    url = rule.rule
    for arg in rule.arguments:
        value = ids.get(arg)
        if value is None:
            return None
        url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(value), url)
    return url


def test_every_page_api_and_export_a_hospital_opens_is_customer_facing(app, journey, client):
    batch, order = journey["batch"], journey["order"]
    ids = {
        "batch_id": batch.id,
        "order_id": order.id,
        "shipment_id": journey["shipment"].id if journey["shipment"] else None,
        "dose_id": journey["dose"].id,
        "notification_id": journey["notification"].id if journey["notification"] else None,
        "fmt": "csv",
    }
    staff = [f"{first} {last}" for user, first, last, _role in DEMO_USERS if user != "hospital"]
    staff += [last for user, _first, last, _role in DEMO_USERS if user != "hospital"]
    codes = internal_codes()
    assert {"IN_PRODUCTION", "QC_PENDING"} <= codes

    login_page(client, "hospital")
    token = Api(client, "hospital").headers
    opened: list[str] = []
    problems: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.rule.startswith(SKIP_PREFIXES):
            continue
        if rule.rule in ("/logout/", "/api/v1/security/logout"):
            continue
        pk_ids = dict(ids)
        # `<pk>`: the record of the kind the endpoint shows, when it is the hospital's own
        pk = {"batch": batch.id, "order": order.id, "coa": batch.id}
        pk_ids["pk"] = next((v for k, v in pk.items() if k in rule.rule), None)
        url = _fill(rule, pk_ids)
        if url is None:
            continue
        headers = token if url.startswith("/api/") else {}
        r = client.get(url, headers=headers)
        if r.status_code != 200:
            continue
        opened.append(url)
        text = readable(r)
        for name in staff:
            if name in QP_NAMES and re.search(r"/coa|/release$", url):
                continue  # a certificate names the QP who signed it (EU GMP Annex 16), nothing else
            found = re.search(rf"\b{re.escape(name)}\b", text)
            if found:
                around = text[max(0, found.start() - 60) : found.end() + 20].replace("\n", " ")
                problems.append(f"{url}: staff name {name!r} in {around!r}")
        for note in journey["notes"]:
            if note in text and note not in _customer_words():
                problems.append(f"{url}: internal note {note[:40]!r}")
        for m in FORBIDDEN_WORDS.finditer(text):
            problems.append(f"{url}: word {m.group(0)!r}")
        for m in PATHS.finditer(text):
            problems.append(f"{url}: file path {m.group(0)!r}")
        if not url.startswith("/api/"):  # an API's machine fields carry codes by design
            for m in CODE.finditer(text):
                if m.group(0) in codes:
                    problems.append(f"{url}: internal code {m.group(0)!r}")
    # The walk reached what the issue names: batch list, journey, events API and CSV, order pages,
    # shipments, dose units and notifications.
    for needed in (
        "/batches/",
        f"/batches/{batch.id}",
        f"/api/v1/batches/{batch.id}/events",
        f"/orders/{order.id}",
        f"/api/v1/orders/{order.id}",
        "/notifications/",
    ):
        assert needed in opened, (needed, opened)
    assert not problems, "\n".join(sorted(set(problems)))
    # The hospital may not export internal records at all.
    assert client.get(f"/api/v1/batches/{batch.id}/events.csv", headers=token).status_code == 403


def _customer_words() -> set[str]:
    from app.batches.customer_view import MILESTONES

    return {words for _title, words in MILESTONES.values()}

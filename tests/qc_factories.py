"""Factory helpers for QC tests: batches in QC, actors, the FDG results in words."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app

from app.core.actor import Actor, actor_from_user

PASSWORD = "radiopharma-demo"

# A passing FDG panel (before-release tests), by test code.
FDG_PASS = {
    "VISUAL": {"pass_fail_value": "PASS"},
    "PH": {"numeric_value": "6.2"},
    "RNID": {"numeric_value": "109.6"},
    "RN_GAMMA": {"numeric_value": "511"},
    "RCI": {"pass_fail_value": "PASS"},
    "RCP": {"numeric_value": "98.4"},
    "FDM": {"numeric_value": "1.2"},
    "CLDG": {"numeric_value": "0.010"},
    "K222": {"numeric_value": "0.020"},
    "ACETONITRILE": {"numeric_value": "50"},
    "ETHANOL_PPM": {"numeric_value": "1200"},
    "ENDOTOXIN": {"numeric_value": "2.5"},  # limit < 175/15 mL = 11.7 EU/mL
    "FILTER_INTEGRITY": {"numeric_value": "55"},
}

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def actor(username: str) -> Actor:
    return actor_from_user(current_app.appbuilder.sm.find_user(username=username))


def make_batch(product_code: str = "FDG", *, to: str = "QC_PENDING", samples: bool = True):
    """A batch of the product, moved through production by the right roles to QC_PENDING, with one
    QC sample of each kind its tests need (unless `samples=False`)."""
    from app.batches import service as batches

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    batch = batches.create_batch(product_code, start, start + dt.timedelta(hours=1), actor=actor("planner"))
    if to == "PLANNED":
        return batch
    batches.transition_batch(batch.id, "SCHEDULED", actor("planner"))
    batches.transition_batch(batch.id, "IN_PRODUCTION", actor("prod"))
    if to == "IN_PRODUCTION":
        return batch
    batches.transition_batch(
        batch.id, "PRODUCTION_COMPLETE", actor("prod"), metadata={"actual_yield_mbq": "150000"}
    )
    if samples:
        from seeds.qc import take_samples

        take_samples(batch.id, actor=actor("qc"))
    return batch


def results_by_code(batch_id: int):
    from app.qc import service as qc

    _, session = qc.get_session(batch_id)
    return {r.test_code: r for r in session.results}


def enter(batch_id: int, values: dict, username: str = "qc") -> None:
    from app.qc import service as qc

    rows = results_by_code(batch_id)
    for code, data in values.items():
        qc.record_qc_result(batch_id, rows[code].id, data, actor=actor(username))


def attach_required(batch_id: int, username: str = "qc") -> None:
    """Upload a small PDF to every row whose line requires an attachment."""
    import io

    from app.qc import attachments as qc_attachments

    for row in results_by_code(batch_id).values():
        if row.attachment_required and row.timing == "BEFORE_RELEASE":
            qc_attachments.store_attachment(
                batch_id, row.id, io.BytesIO(PDF), "report.pdf", actor=actor(username)
            )


def d(value: str) -> Decimal:
    return Decimal(value)

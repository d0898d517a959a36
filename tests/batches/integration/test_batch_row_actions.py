"""The batch list's quick actions read the QC sessions of a whole page in one query."""

from __future__ import annotations

from sqlalchemy import event

from app.batches import pages as batch_pages
from app.core.extensions import db
from tests.batch_factories import actor, batch_in


def test_row_actions_read_qc_sessions_once_for_the_page(app_ctx):
    batches = [batch_in("QC_IN_PROGRESS") for _ in range(5)] + [batch_in("QC_PASSED") for _ in range(3)]
    items = [{"id": b.id, "status": b.status, "status_before_exception": None} for b in batches]
    statements: list[str] = []
    engine = db.session.get_bind()

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        actions = batch_pages.row_actions(items, actor("qp"), allow_admin_override=False)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if "batch_qc_session" in s]) == 1
    # No passed session: the QP is offered no QP review on a QC_PASSED row (gate read from the query).
    assert all("QP_REVIEW" not in {a["to_status"] for a in actions[b.id]} for b in batches[5:])

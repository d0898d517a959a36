"""Two QPs sign the same batch at the same moment (real threads, real connections, committed data):
exactly one disposition is kept; the other is refused and leaves no signature behind."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.batches.models import Batch
from app.core.domain import DomainError
from app.core.extensions import db
from app.release import service
from app.release.models import BatchDisposition
from app.security.models import ESignature
from tests.qc_factories import PASSWORD, actor
from tests.release_factories import add_user, authorise, batch_in_qp_review


def test_two_qps_release_the_same_batch_one_wins(app, committed):
    with app.test_request_context():
        add_user("raceqp", "QP", first="Omar", last="Race")
        authorise("raceqp")
        batch = batch_in_qp_review()
        batch_id = batch.id
        signers = [actor("qp"), actor("raceqp")]
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                service.decide_disposition(batch_id, "RELEASE", actor=signers[i], password=PASSWORD)
                outcomes[i] = "ok"
            except DomainError as err:
                outcomes[i] = err.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(outcomes, key=str) == ["TRANSITION_NOT_ALLOWED", "ok"], outcomes
    db.session.expire_all()
    assert db.session.get(Batch, batch_id).status == "RELEASED"
    assert (
        db.session.execute(
            select(func.count()).select_from(BatchDisposition).where(BatchDisposition.batch_id == batch_id)
        ).scalar_one()
        == 1
    )
    assert (
        db.session.execute(
            select(func.count())
            .select_from(ESignature)
            .where(ESignature.entity_type == "Batch", ESignature.entity_id == str(batch_id))
        ).scalar_one()
        == 1
    )

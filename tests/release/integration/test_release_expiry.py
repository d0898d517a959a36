"""Hard expiry: past end of synthesis + shelf life a batch is not released or moved downstream."""

from __future__ import annotations

import datetime as dt

import pytest

from app.batches import service as batches
from app.core.domain import DomainError
from app.core.extensions import db
from tests.qc_factories import actor
from tests.release_factories import RELEASE_MEANING, batch_in_qp_review, release

pytestmark = pytest.mark.usefixtures("app_ctx")


def _age(batch, minutes_past_expiry: int) -> None:
    """Move the recorded end of synthesis back so the shelf life ended `minutes_past_expiry` ago."""
    life = batch.product.shelf_life_min
    batch.actual_end_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=life + minutes_past_expiry)
    db.session.commit()


def test_release_refused_after_expiry_with_local_time_and_zone(app):
    batch = batch_in_qp_review()
    _age(batch, 5)
    with pytest.raises(DomainError) as err:
        release(batch.id, meaning=RELEASE_MEANING)
    assert err.value.code == "EXPIRED" and err.value.status == 409
    assert f"({app.config['SITE_TIMEZONE']})" in err.value.user_message
    db.session.refresh(batch)
    assert batch.status == "QP_REVIEW"


def test_release_allowed_just_before_expiry():
    batch = batch_in_qp_review()
    _age(batch, -10)
    release(batch.id, meaning=RELEASE_MEANING)
    db.session.refresh(batch)
    assert batch.status == "RELEASED"


def test_downstream_move_refused_after_expiry():
    batch = batch_in_qp_review()
    release(batch.id, meaning=RELEASE_MEANING)
    _age(batch, 1)
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "DISPENSING_IN_PROGRESS", actor("disp"))
    assert err.value.code == "EXPIRED"
    db.session.refresh(batch)
    assert batch.status == "RELEASED"


def test_expired_batch_may_still_be_rejected():
    batch = batch_in_qp_review()
    _age(batch, 30)
    release(batch.id, disposition="REJECT", comment="Shelf life over")
    db.session.refresh(batch)
    assert batch.status == "REJECTED"

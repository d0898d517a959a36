"""QP release records: dispositions, their signatures, and QP release rights per product.

`batch_disposition` and `batch_release_signature` are GMP records: append-only (triggers refuse
UPDATE, DELETE and TRUNCATE), written only by `app.release.service` in the same transaction as the
batch's status change, its event, its audit row and the ESignature they point at.

`qp_product_authorisation` says which products a QP may certify. Grants and revocations are made by
an administrator and audited; a revoked grant keeps its row (who revoked it, when, why).
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import relationship

from app.release.domain import DISPOSITIONS


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class BatchDisposition(Model):
    """One QP decision on a batch (release, hold, reject, lift hold) and what the QP reviewed."""

    __tablename__ = "batch_disposition"

    id = Column(BigInteger, Identity(), primary_key=True)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False)
    disposition = Column(String(16), nullable=False)
    from_status = Column(String(32), nullable=False)
    to_status = Column(String(32), nullable=False)
    decided_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    decided_by_name = Column(String(200), nullable=False)
    decided_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    comment = Column(Text, nullable=True)
    # The review-by-exception panel as the QP saw it when signing (count and the findings).
    exceptions_count = Column(Integer, nullable=False, server_default=text("0"))
    findings = Column(JSONB, nullable=True)
    signature_id = Column(BigInteger, ForeignKey("esignature.id"), nullable=False, unique=True)
    batch_event_id = Column(BigInteger, ForeignKey("batch_event.id"), nullable=True)
    trace_id = Column(String(64), nullable=True)

    signature = relationship("ESignature")

    __table_args__ = (
        CheckConstraint(_in("disposition", DISPOSITIONS), name="ck_batch_disposition_value"),
        CheckConstraint("exceptions_count >= 0", name="ck_batch_disposition_exceptions"),
        Index("ix_batch_disposition_batch", "batch_id", "decided_at"),
    )


class BatchReleaseSignature(Model):
    """The QP's signature on a disposition: who, when (UTC), what it means, with which comment."""

    __tablename__ = "batch_release_signature"

    id = Column(BigInteger, Identity(), primary_key=True)
    batch_id = Column(Integer, ForeignKey("batch.id"), nullable=False)
    disposition_id = Column(BigInteger, ForeignKey("batch_disposition.id"), nullable=False, unique=True)
    disposition = Column(String(16), nullable=False)
    signer_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    signer_name = Column(String(200), nullable=False)
    signed_at = Column(DateTime(timezone=True), nullable=False)
    meaning = Column(String(300), nullable=False)
    comment = Column(Text, nullable=True)
    esignature_id = Column(BigInteger, ForeignKey("esignature.id"), nullable=False, unique=True)

    __table_args__ = (
        CheckConstraint(_in("disposition", DISPOSITIONS), name="ck_batch_release_signature_value"),
        Index("ix_batch_release_signature_batch", "batch_id", "signed_at"),
    )


class QpProductAuthorisation(Model):
    """A QP's right to certify batches of one product (granted and revoked by an administrator)."""

    __tablename__ = "qp_product_authorisation"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    product_id = Column(Integer, ForeignKey("product.id"), nullable=False)
    granted_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)  # NULL: the seed
    granted_by_name = Column(String(200), nullable=False)
    granted_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    note = Column(Text, nullable=True)
    revoked_at = Column(DateTime(timezone=True), nullable=True)
    revoked_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    revoked_by_name = Column(String(200), nullable=True)
    revoke_reason = Column(Text, nullable=True)

    user = relationship("User", foreign_keys=[user_id])
    product = relationship("Product")

    __table_args__ = (
        CheckConstraint(
            "(revoked_at IS NULL) = (revoked_by_name IS NULL)", name="ck_qp_product_authorisation_revoked"
        ),
        # One live grant per QP and product; revoked grants stay as history.
        Index(
            "uq_qp_product_authorisation_live",
            "user_id",
            "product_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
        # Kept by the test suite's truncation between browser tests, like other seeded reference data.
        {"info": {"seeded": True}},
    )

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"{self.user} — {self.product.code if self.product else self.product_id}"

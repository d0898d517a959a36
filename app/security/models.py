"""Electronic signatures (21 CFR Part 11 style): who signed what, when, and what it meant."""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Integer, String, Text, text

SIGNATURE_SCOPES = (
    "BATCH_RELEASE",
    "QC_TEMPLATE_ACTIVATION",
    "DEVIATION_APPROVAL",
    "MASTERDATA_CHANGE",
    "PO_APPROVAL",
    "EBR_ACTIVATION",
)


class ESignature(Model):
    __tablename__ = "esignature"

    id = Column(BigInteger, primary_key=True)
    scope = Column(String(40), nullable=False, index=True)
    entity_type = Column(String(64), nullable=False)
    entity_id = Column(String(64), nullable=False, index=True)
    signer_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    signer_name = Column(String(200), nullable=False)
    signer_roles = Column(String(400), nullable=False, server_default="")
    signed_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    meaning = Column(String(300), nullable=False)
    comment = Column(Text, nullable=True)
    content_sha256 = Column(String(64), nullable=False)
    trace_id = Column(String(64), nullable=True)


class SignatureFailure(Model):
    """Failed signature attempts; consecutive failures since the last success lock signing."""

    __tablename__ = "signature_failure"

    id = Column(BigInteger, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    failed_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    scope = Column(String(40), nullable=False)
    entity_id = Column(String(64), nullable=True)


class PermissionsVersion(Model):
    """One row: bumped by database triggers (migration 0013) in the same transaction as any change to
    roles, permissions or a user's roles, whatever wrote it (FAB's security views and APIs,
    `flask rp sync-perms`, seeds, plain SQL). Each process caches permission sets per role set and
    re-reads this version at most every couple of seconds (app/security/permission_cache.py).
    Values come from a sequence, so a rolled-back bump is never reused for another state."""

    __tablename__ = "rp_permissions_version"
    __table_args__ = (
        CheckConstraint("id = 1", name="ck_rp_permissions_version_single_row"),
        {"info": {"seeded": True}},  # kept by the test suite's truncation
    )

    id = Column(Integer, primary_key=True)
    version = Column(BigInteger, nullable=False)
    changed_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

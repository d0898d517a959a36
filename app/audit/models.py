"""The immutable audit trail.

Rows are only ever inserted. The application assigns the id and links the row to its predecessor
with an HMAC under a transaction-scoped advisory lock (app.audit.chain); a BEFORE INSERT trigger
(migration 0017) refuses a row that does not extend the head. UPDATE, DELETE and TRUNCATE are refused
by triggers, and the application's database role may only INSERT and SELECT here.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB


class AuditLog(Model):
    __tablename__ = "audit_log"

    # Assigned by the trigger after the chain lock is held; the default only satisfies the ORM.
    id = Column(BigInteger, primary_key=True, autoincrement=False, server_default=text("0"))
    occurred_at = Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    entity_type = Column(String(64), nullable=False)
    entity_id = Column(String(64), nullable=True)
    action = Column(String(40), nullable=False, index=True)
    actor_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True, index=True)
    actor_name = Column(String(200), nullable=False)
    actor_roles = Column(String(400), nullable=False, server_default="")
    before = Column(JSONB, nullable=True)
    after = Column(JSONB, nullable=True)
    reason = Column(Text, nullable=True)
    trace_id = Column(String(64), nullable=True, index=True)
    client_ip = Column(String(64), nullable=True)
    signature_id = Column(BigInteger, ForeignKey("esignature.id"), nullable=True)
    prev_hash = Column(String(64), nullable=True)
    hash = Column(String(64), nullable=True)
    # NULL: written before migration 0017 (the database's SHA-256); "hmac-sha256": the application's HMAC
    hash_alg = Column(String(16), nullable=True)

    __table_args__ = (
        # entity lookups drive the journey's Audit tab and the audit viewer
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_occurred_at", "occurred_at"),
        {"extend_existing": True},
    )

    def __repr__(self) -> str:
        return f"<AuditLog {self.id} {self.entity_type}:{self.entity_id} {self.action}>"


class AuditVerification(Model):
    """Each run of the chain verification: the head it saw anchors the next run (tail deletion)."""

    __tablename__ = "audit_verification"

    id = Column(BigInteger, primary_key=True)
    verified_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    ok = Column(Boolean, nullable=False)
    entries = Column(BigInteger, nullable=False)
    head_id = Column(BigInteger, nullable=True)
    head_hash = Column(String(64), nullable=True)
    first_broken_id = Column(BigInteger, nullable=True)
    message = Column(Text, nullable=False)
    triggered_by = Column(String(200), nullable=False)

"""Instrument imports: every uploaded file (or API body) is kept with its row-by-row outcome."""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB


class QcImport(Model):
    __tablename__ = "qc_import"

    id = Column(BigInteger, primary_key=True)
    source = Column(String(8), nullable=False)  # CSV or API
    filename = Column(String(255), nullable=True)
    content = Column(Text, nullable=False)  # the file as received
    status = Column(String(10), nullable=False, server_default="PREVIEWED")
    rows_total = Column(Integer, nullable=False)
    rows_valid = Column(Integer, nullable=False)
    rows_applied = Column(Integer, nullable=False, server_default="0")
    preview = Column(JSONB, nullable=False)  # one entry per row: values, errors
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_by_name = Column(String(200), nullable=False)
    applied_at = Column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('PREVIEWED', 'APPLIED')", name="ck_qc_import_status"),
        CheckConstraint("source IN ('CSV', 'API')", name="ck_qc_import_source"),
    )

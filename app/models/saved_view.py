"""Saved Views: a user's named filter sets for a list page (the batch list first).

A saved view is a personal preference, not a GMP record: the owner creates, renames and deletes it
freely. The filters are kept as the query string the page understands (validated when saved), so
applying a view is just opening the page with it; names are unique per user and page, ignoring case.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, func, text


class SavedView(Model):
    __tablename__ = "saved_view"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    page = Column(String(32), nullable=False, server_default="batches")
    name = Column(String(80), nullable=False)
    query = Column(String(2000), nullable=False, server_default="")
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="ck_saved_view_name"),
        Index("uq_saved_view_user_page_name", "user_id", "page", func.lower(name), unique=True),
    )

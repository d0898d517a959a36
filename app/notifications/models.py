"""In-app notifications (one row per recipient) and the log of e-mails sent for them."""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import relationship

# E-mail delivery states of a notification (the job moves PENDING -> SENDING -> SENT / SKIPPED / FAILED).
EMAIL_PENDING = "PENDING"
EMAIL_SENDING = "SENDING"
EMAIL_SENT = "SENT"
EMAIL_SKIPPED = "SKIPPED"
EMAIL_FAILED = "FAILED"


class Notification(Model):
    __tablename__ = "notification"

    id = Column(BigInteger, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(64), nullable=False)
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False, server_default="")
    entity_type = Column(String(64), nullable=True)
    entity_id = Column(String(64), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    read_at = Column(DateTime(timezone=True), nullable=True)
    email_status = Column(String(16), nullable=False, server_default=EMAIL_PENDING)
    email_claimed_at = Column(DateTime(timezone=True), nullable=True)
    emailed_at = Column(DateTime(timezone=True), nullable=True)
    email_error = Column(String(300), nullable=True)

    user = relationship("User", foreign_keys=[user_id])

    __table_args__ = (
        # the bell page lists a user's newest first; the sweeper looks for unsent mail
        Index("ix_notification_user_created", "user_id", "created_at"),
        Index("ix_notification_email_status", "email_status"),
    )

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} user={self.user_id}>"


class EmailOutbox(Model):
    """Every e-mail the system produced, whatever the transport (outbox only, log, or SMTP)."""

    __tablename__ = "email_outbox"

    id = Column(BigInteger, primary_key=True)
    # unique: a notification is e-mailed at most once, however often its job runs
    notification_id = Column(BigInteger, ForeignKey("notification.id", ondelete="CASCADE"), unique=True)
    to_address = Column(String(320), nullable=False)
    subject = Column(String(300), nullable=False)
    body = Column(Text, nullable=False)
    transport = Column(String(16), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

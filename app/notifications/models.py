"""In-app notifications (one row per recipient) and the log of e-mails sent for them."""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import relationship

# E-mail delivery states of a notification (the job moves PENDING -> SENDING -> SENT / SKIPPED / FAILED).
EMAIL_PENDING = "PENDING"
EMAIL_SENDING = "SENDING"
EMAIL_SENT = "SENT"
EMAIL_SKIPPED = "SKIPPED"
EMAIL_FAILED = "FAILED"
EMAIL_RETRYING = "RETRYING"


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
    # the page of the record the notification is about (relative URL), linked from the bell list
    record_url = Column(String(500), nullable=True)
    language = Column(String(2), nullable=False, server_default="en")

    user = relationship("User", foreign_keys=[user_id])

    __table_args__ = (
        # the bell page lists a user's newest first; the sweeper looks for unsent mail
        Index("ix_notification_user_created", "user_id", "created_at"),
        Index("ix_notification_email_status", "email_status"),
    )

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} user={self.user_id}>"


class EmailOutbox(Model):
    """Every e-mail the system produced, written in the same transaction as the business act.

    The sender (job after commit, and the periodic sweep) moves it PENDING -> SENDING -> SENT, or
    RETRYING with a growing delay, or FAILED after the last attempt; SKIPPED when it is no longer
    worth sending (read in the app meanwhile, user gone). Each attempt is logged in email_delivery.
    """

    __tablename__ = "email_outbox"

    id = Column(BigInteger, primary_key=True)
    # unique: a notification is e-mailed at most once, however often its job runs
    notification_id = Column(BigInteger, ForeignKey("notification.id", ondelete="CASCADE"), unique=True)
    to_address = Column(String(320), nullable=False)
    subject = Column(String(300), nullable=False)
    body = Column(Text, nullable=False)
    transport = Column(String(16), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    event_type = Column(String(64), nullable=True)
    status = Column(String(16), nullable=False, server_default=EMAIL_PENDING)
    attempts = Column(Integer, nullable=False, server_default="0")
    next_attempt_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    sent_at = Column(DateTime(timezone=True), nullable=True)
    last_error = Column(String(300), nullable=True)

    __table_args__ = (Index("ix_email_outbox_status_next", "status", "next_attempt_at"),)


class EmailDelivery(Model):
    """The delivery log: one row per attempt to send an outbox e-mail (append-only)."""

    __tablename__ = "email_delivery"

    id = Column(BigInteger, primary_key=True)
    outbox_id = Column(
        BigInteger, ForeignKey("email_outbox.id", ondelete="CASCADE"), nullable=False, index=True
    )
    attempt = Column(Integer, nullable=False)
    attempted_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    outcome = Column(String(16), nullable=False)  # SENT / RETRYING / FAILED / SKIPPED
    transport = Column(String(16), nullable=True)
    error = Column(String(300), nullable=True)

    outbox = relationship("EmailOutbox")


class NotificationTemplate(Model):
    """Admin's wording of one event type in one language; without a row the catalogue default applies."""

    __tablename__ = "notification_template"

    id = Column(Integer, primary_key=True)
    event_type = Column(String(64), nullable=False)
    language = Column(String(2), nullable=False)
    subject = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    updated_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)

    __table_args__ = (
        UniqueConstraint("event_type", "language", name="uq_notification_template_event_lang"),
        CheckConstraint("language IN ('en', 'ar')", name="ck_notification_template_language"),
    )


class NotificationPreference(Model):
    """A user's choices: the language of their notifications and which event types reach them by e-mail.

    One row per user; `email_off` lists the event types the user does not want by e-mail (default:
    every event type they receive is e-mailed)."""

    __tablename__ = "notification_preference"

    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    language = Column(String(2), nullable=False, server_default="en")
    email_off = Column(Text, nullable=False, server_default="")
    email_enabled = Column(Boolean, nullable=False, server_default=text("true"))
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    __table_args__ = (
        CheckConstraint("language IN ('en', 'ar')", name="ck_notification_preference_language"),
    )

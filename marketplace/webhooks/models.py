"""Webhook subscriptions (per organization) and their deliveries: one row per (subscription, event)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, created_column, id_column
from ..events.models import Event
from ..extensions import db

MAX_URL = 2000
DELIVERY_STATUSES = ("pending", "succeeded", "failed")


class WebhookSubscription(db.Model):
    """Where to POST which event types for one organization. The signing secret is kept AES-GCM-wrapped
    under the key-encryption key (the service needs it to sign); it is shown once, when created."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    url: Mapped[str] = mapped_column(String(MAX_URL), nullable=False)
    events: Mapped[list] = mapped_column(JSON, nullable=False)
    secret_wrapped: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # deleted: no new deliveries, log kept


class WebhookDelivery(db.Model):
    """One event sent to one subscription, retried with backoff. Its id is the `webhook-id` header: the same
    on every attempt, so a receiver can drop a duplicate."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        CheckConstraint("status IN ('pending','succeeded','failed')", name="status"),
        Index("ix_webhook_deliveries_status_due", "status", "next_attempt_at"),  # the sender's query, the metrics
    )

    id: Mapped[str] = id_column()
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"), nullable=False)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), nullable=False, index=True)
    event_type: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # attempts made before the current retry schedule began (a redelivery starts a fresh schedule)
    schedule_base: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # when it is due; while an attempt is in flight, when its lease runs out (then it is due again)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_column()

    subscription: Mapped[WebhookSubscription] = relationship()
    event: Mapped[Event] = relationship()

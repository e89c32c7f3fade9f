"""The transactional outbox: an event row per state change, and a delivery row per (event, subscriber),
written in the same transaction as the change (DESIGN 8, "The event spine")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, created_column, id_column, utcnow
from ..extensions import db

DELIVERY_STATUSES = ("pending", "done", "failed")


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    subject_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    jurisdiction: Mapped[str | None] = mapped_column(String(8), index=True)
    audience: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # org ids it is about
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()


class Delivery(db.Model):
    """One subscriber's copy of one event: retried alone, with backoff, never blocking the others."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscriber"),
        CheckConstraint("status IN ('pending','done','failed')", name="status"),
        Index("ix_event_deliveries_status_due", "status", "next_attempt_at"),  # the relay's query, the metrics
    )

    id: Mapped[str] = id_column()
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), nullable=False, index=True)
    subscriber: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_column()

    event: Mapped[Event] = relationship(lazy="joined")

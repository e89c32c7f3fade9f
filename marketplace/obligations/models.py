from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, created_column, currency_column, id_column, minor_units
from ..extensions import db


class ObligationRecord(db.Model):
    """One computed revision of an exchange's obligation for a period. Never updated but to supersede."""

    __tablename__ = "obligations"
    __table_args__ = (UniqueConstraint("exchange_id", "period", "revision"),)

    id: Mapped[str] = id_column()
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    period: Mapped[str] = mapped_column(String(10), nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    ruleset_id: Mapped[str] = mapped_column(String(64), nullable=False)
    ruleset_version: Mapped[str] = mapped_column(String(32), nullable=False)
    ruleset_digest: Mapped[str] = mapped_column(String(71), nullable=False)
    total: Mapped[int] = minor_units()
    currency: Mapped[str] = currency_column()
    lines: Mapped[list] = mapped_column(JSON, nullable=False)
    inputs_digest: Mapped[str] = mapped_column(String(71), nullable=False)  # what facts it was computed on
    computed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    computed_at: Mapped[datetime] = created_column()
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

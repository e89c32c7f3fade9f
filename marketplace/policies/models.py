from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, created_column, currency_column, id_column, minor_units
from ..extensions import db
from ..registry.models import Organization


class Policy(db.Model):
    """A policy and its current terms (those of its latest revision)."""

    __tablename__ = "policies"
    __table_args__ = (
        UniqueConstraint("insurer_id", "number"),
        CheckConstraint("status IN ('active','cancelled','lapsed')", name="status"),
        CheckConstraint("limit_amount > 0 AND deductible >= 0", name="amounts"),
        CheckConstraint("term_start <= term_end", name="term"),
    )

    id: Mapped[str] = id_column()
    insurer_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    number: Mapped[str] = mapped_column(String(64), nullable=False)
    insured_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    currency: Mapped[str] = currency_column()
    limit_amount: Mapped[int] = minor_units()
    deductible: Mapped[int] = minor_units()
    perils: Mapped[list] = mapped_column(JSON, nullable=False)
    # where the cover applies (ISO 3166 codes, or EU for the Union): MiCA Art. 67(4)(b); not part of the attestation
    territories: Mapped[list | None] = mapped_column(JSON)
    term_start: Mapped[date] = mapped_column(Date, nullable=False)
    term_end: Mapped[date] = mapped_column(Date, nullable=False)  # inclusive
    cancellation_notice_days: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # market | registered
    cancelled_effective: Mapped[date | None] = mapped_column(Date)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = created_column()
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    insurer: Mapped[Organization] = relationship()
    revisions: Mapped[list[PolicyRevision]] = relationship(back_populates="policy", order_by="PolicyRevision.revision")


class PolicyRevision(db.Model):
    """The terms of one revision, as they stood (attestations are per revision)."""

    __tablename__ = "policy_revisions"
    __table_args__ = (UniqueConstraint("policy_id", "revision"),)

    id: Mapped[str] = id_column()
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), nullable=False, index=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    limit_amount: Mapped[int] = minor_units()
    deductible: Mapped[int] = minor_units()
    perils: Mapped[list] = mapped_column(JSON, nullable=False)
    term_start: Mapped[date] = mapped_column(Date, nullable=False)
    term_end: Mapped[date] = mapped_column(Date, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()

    policy: Mapped[Policy] = relationship(back_populates="revisions")

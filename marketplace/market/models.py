from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..db import UTCDateTime, created_column, currency_column, id_column, minor_units, utcnow
from ..domain.market import rate_e18
from ..extensions import db
from ..registry.models import Organization

OFFERING_STATUSES = ("draft", "listed", "withdrawn")
# The market search filters every listed offering on these two lists: stored as jsonb on PostgreSQL (parsed
# once, when written) instead of json (parsed again by every search, for every row).
SEARCHED_LIST = JSON().with_variant(JSONB(), "postgresql")


class Offering(db.Model):
    __tablename__ = "offerings"
    __table_args__ = (
        CheckConstraint("capacity_used >= 0 AND capacity_used <= capacity", name="capacity_not_oversold"),
        CheckConstraint("min_limit > 0 AND min_limit <= max_limit", name="limit_range"),
        CheckConstraint("min_term_months >= 1 AND min_term_months <= max_term_months", name="term_range"),
        CheckConstraint("status IN ('draft','listed','withdrawn')", name="status"),
        # the market's default order: the first page is read off this index, not sorted from every row
        Index("ix_offerings_status_rate", "status", "indicative_rate_e18", "id"),
    )

    id: Mapped[str] = id_column()
    insurer_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    perils: Mapped[list] = mapped_column(SEARCHED_LIST, nullable=False)
    jurisdictions: Mapped[list] = mapped_column(SEARCHED_LIST, nullable=False)
    currency: Mapped[str] = currency_column()
    min_limit: Mapped[int] = minor_units()
    max_limit: Mapped[int] = minor_units()
    capacity: Mapped[int] = minor_units()
    capacity_used: Mapped[int] = minor_units()
    deductible: Mapped[int] = minor_units()
    min_term_months: Mapped[int] = mapped_column(Integer, nullable=False)
    max_term_months: Mapped[int] = mapped_column(Integer, nullable=False)
    indicative_rate: Mapped[str] = mapped_column(String(40), nullable=False)  # Decimal per annum on limit
    indicative_rate_e18: Mapped[int] = mapped_column(BigInteger, nullable=False)  # set with it: domain.rate_e18
    cancellation_notice_days: Mapped[int] = mapped_column(Integer, nullable=False, default=90)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    insurer: Mapped[Organization] = relationship()

    @validates("indicative_rate")
    def _sortable_rate(self, _key, value):
        self.indicative_rate_e18 = rate_e18(value)
        return value


class MarketState(db.Model):
    """One row: `version` goes up in the transaction of every change to `offerings` or `organizations` (database
    triggers, so bulk SQL counts too: migration 0013). The market search caches its counts and answers keyed
    by it (market.search.Market.key)."""
    __tablename__ = "market_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


class CoverageRequest(db.Model):
    __tablename__ = "coverage_requests"
    __table_args__ = (
        CheckConstraint("status IN ('requested','quoted','declined','accepted','bound','expired','withdrawn')",
                        name="status"),
    )

    id: Mapped[str] = id_column()
    offering_id: Mapped[str] = mapped_column(ForeignKey("offerings.id"), nullable=False, index=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    insurer_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="requested")
    currency: Mapped[str] = currency_column()
    limit: Mapped[int] = minor_units()
    perils: Mapped[list] = mapped_column(JSON, nullable=False)
    term_start: Mapped[date] = mapped_column(Date, nullable=False)
    term_months: Mapped[int] = mapped_column(Integer, nullable=False)
    message: Mapped[str | None] = mapped_column(Text)
    premium: Mapped[int | None] = minor_units(nullable=True)
    quoted_limit: Mapped[int | None] = minor_units(nullable=True)
    quoted_deductible: Mapped[int | None] = minor_units(nullable=True)
    quoted_term_start: Mapped[date | None] = mapped_column(Date)
    quoted_term_end: Mapped[date | None] = mapped_column(Date)
    quote_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    policy_id: Mapped[str | None] = mapped_column(ForeignKey("policies.id"))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    offering: Mapped[Offering] = relationship()

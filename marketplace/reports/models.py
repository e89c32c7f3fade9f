from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, currency_column, id_column, minor_units, utcnow
from ..extensions import db


class _Reported:
    """Who recorded the current revision of a reported fact, and when."""

    revision: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class MonthlyVolume(_Reported, db.Model):
    __tablename__ = "monthly_volumes"
    __table_args__ = (
        UniqueConstraint("exchange_id", "month", "product_class"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[str] = id_column()
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    month: Mapped[date] = mapped_column(Date, nullable=False)  # first day of the month
    product_class: Mapped[str] = mapped_column(String(32), nullable=False)
    amount: Mapped[int] = minor_units()
    currency: Mapped[str] = currency_column()


class CustodyBalanceRecord(_Reported, db.Model):
    __tablename__ = "custody_balances"
    __table_args__ = (
        UniqueConstraint("exchange_id", "as_of", "wallet"),
        CheckConstraint("wallet IN ('hot','cold','other')", name="wallet"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[str] = id_column()
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    wallet: Mapped[str] = mapped_column(String(8), nullable=False)
    amount: Mapped[int] = minor_units()
    currency: Mapped[str] = currency_column()


class IncidentRecord(_Reported, db.Model):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("loss >= 0 AND compensated >= 0", name="amounts_non_negative"),
        CheckConstraint("compensated <= loss", name="compensated_within_loss"),
    )

    id: Mapped[str] = id_column()
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    loss: Mapped[int] = minor_units()
    compensated: Mapped[int] = minor_units()
    currency: Mapped[str] = currency_column()
    description: Mapped[str | None] = mapped_column(Text)


class FixedOverheads(_Reported, db.Model):
    __tablename__ = "fixed_overheads"
    __table_args__ = (
        UniqueConstraint("exchange_id", "fiscal_year"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[str] = id_column()
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[int] = minor_units()
    currency: Mapped[str] = currency_column()
    # MiCA Art. 67(2): a firm in its first year reports projected overheads; Art. 67(3): items deducted
    projected: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    deductions: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)


class ReserveBalanceRecord(_Reported, db.Model):
    """Cash the exchange holds in its reserve account on a date (DESIGN 10): what the adequacy check
    compares with the net reserve required."""

    __tablename__ = "reserve_balances"
    __table_args__ = (
        UniqueConstraint("exchange_id", "as_of"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[str] = id_column()
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[int] = minor_units()
    currency: Mapped[str] = currency_column()


class ReportRevision(db.Model):
    """Every revision of every reported fact, as it stood, with who recorded it and when."""

    __tablename__ = "report_revisions"
    __table_args__ = (UniqueConstraint("kind", "record_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # volume | custody | incident | overheads | reserve
    record_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

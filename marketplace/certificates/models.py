from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, created_column, id_column, utcnow
from ..extensions import db

LIST_SIZE = 131_072  # W3C Bitstring Status List minimum (16 KB), for herd privacy
# "status = 'valid'" with the value in the SQL text, not a bound parameter: only then may the planner (PostgreSQL's
# generic plans for prepared statements, SQLite always) use an index whose predicate is this condition
VALID_SQL = "status = 'valid'"


class StatusList(db.Model):
    __tablename__ = "status_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=LIST_SIZE)
    bits: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # the signed list as last published, served until it is republished (on change, and before its ttl)
    published: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("status_list_id", "status_index"),
        CheckConstraint("status IN ('valid','revoked')", name="status"),
        # an exchange's valid certificates of a period (what an issuance supersedes): a few rows, however many
        # certificates the exchange was ever issued (each issuance revokes the one before)
        Index("ix_certificates_valid_exchange_period", "exchange_id", "period",
              postgresql_where=literal_column(VALID_SQL), sqlite_where=literal_column(VALID_SQL)),
    )

    id: Mapped[str] = id_column()
    obligation_id: Mapped[str] = mapped_column(ForeignKey("obligations.id"), nullable=False, index=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    period: Mapped[str] = mapped_column(String(10), nullable=False)
    kid: Mapped[str] = mapped_column(ForeignKey("signing_keys.kid"), nullable=False)
    jws: Mapped[str] = mapped_column(Text, nullable=False)
    credential: Mapped[dict] = mapped_column(JSON, nullable=False)
    status_list_id: Mapped[int] = mapped_column(ForeignKey("status_lists.id"), nullable=False)
    status_index: Mapped[int] = mapped_column(Integer, nullable=False)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="valid")
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()


IS_VALID = literal_column(f"{Certificate.__tablename__}.{VALID_SQL}")  # Certificate.status == 'valid', as SQL text


class CertificateCoverage(db.Model):
    """Which policies (and revisions) a certificate relies on: what revocation looks up."""

    __tablename__ = "certificate_coverage"

    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), primary_key=True, index=True)
    insurer_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    policy_revision: Mapped[int] = mapped_column(Integer, nullable=False)

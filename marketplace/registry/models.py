from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, created_column, id_column, utcnow
from ..extensions import db

ORG_KINDS = ("regulator", "insurer", "exchange", "custodian")
INSURER_STATUSES = ("pending", "approved", "suspended")
CUSTODIAN_STATUSES = ("registered", "unregistered", "pending")


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint("kind IN ('regulator','insurer','exchange','custodian')", name="kind"),)

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    jurisdiction: Mapped[str | None] = mapped_column(String(8))  # home jurisdiction
    rating: Mapped[str | None] = mapped_column(String(4))  # insurers: the rating asked for at admission (see approvals)
    # the financial group it belongs to: an insurer in an exchange's own group is no third party (MiCA Art. 67(5))
    group_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_column()

    exchange: Mapped[Exchange | None] = relationship(back_populates="org", uselist=False,
                                                      foreign_keys="Exchange.org_id")
    custodian: Mapped[Custodian | None] = relationship(back_populates="org", uselist=False,
                                                        foreign_keys="Custodian.org_id")


class OrgHistory(db.Model):
    """Who changed what about an organization, and when (status, rating, registration)."""

    __tablename__ = "org_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    field: Mapped[str] = mapped_column(String(32), nullable=False)
    jurisdiction: Mapped[str | None] = mapped_column(String(8))  # a change one regulator made for its jurisdiction
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class InsurerApproval(db.Model):
    """An insurer's standing with one regulator."""

    __tablename__ = "insurer_approvals"
    __table_args__ = (
        UniqueConstraint("insurer_id", "regulator_id"),
        CheckConstraint("status IN ('pending','approved','suspended')", name="status"),
    )

    id: Mapped[str] = id_column()
    insurer_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    regulator_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    rating: Mapped[str | None] = mapped_column(String(4))  # this regulator's rating, for its jurisdiction only
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    insurer: Mapped[Organization] = relationship(foreign_keys=[insurer_id])
    regulator: Mapped[Organization] = relationship(foreign_keys=[regulator_id])


class Exchange(db.Model):
    __tablename__ = "exchanges"
    __table_args__ = (UniqueConstraint("jurisdiction", "licence_number"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    licence_number: Mapped[str] = mapped_column(String(64), nullable=False)
    jurisdiction: Mapped[str] = mapped_column(String(8), nullable=False)
    regulator_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    service_classes: Mapped[str] = mapped_column(String(16), default="", nullable=False)  # "2,3" (MiCA)

    org: Mapped[Organization] = relationship(back_populates="exchange", foreign_keys=[org_id])
    custodians: Mapped[list[Custodian]] = relationship(secondary="exchange_custodians", order_by="Custodian.org_id")


class Custodian(db.Model):
    __tablename__ = "custodians"
    __table_args__ = (CheckConstraint("registration_status IN ('registered','unregistered','pending')",
                                      name="registration_status"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    registration_status: Mapped[str] = mapped_column(String(16), nullable=False)
    registration_number: Mapped[str | None] = mapped_column(String(64))

    org: Mapped[Organization] = relationship(back_populates="custodian", foreign_keys=[org_id])


class ExchangeCustodian(db.Model):
    __tablename__ = "exchange_custodians"

    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), primary_key=True)
    custodian_id: Mapped[str] = mapped_column(ForeignKey("custodians.org_id"), primary_key=True)

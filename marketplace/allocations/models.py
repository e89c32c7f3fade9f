from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, created_column, currency_column, id_column, minor_units
from ..extensions import db
from ..policies.models import Policy


class Allocation(db.Model):
    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('live','detached')", name="status"),
    )

    id: Mapped[str] = id_column()
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), nullable=False, index=True)
    obligation_id: Mapped[str] = mapped_column(ForeignKey("obligations.id"), nullable=False, index=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.org_id"), nullable=False, index=True)
    amount: Mapped[int] = minor_units()
    currency: Mapped[str] = currency_column()
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="live")
    over_limit: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # flagged after a lower limit
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()
    detached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    policy: Mapped[Policy] = relationship()

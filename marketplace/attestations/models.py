from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import created_column, id_column
from ..extensions import db


class Attestation(db.Model):
    __tablename__ = "attestations"
    __table_args__ = (UniqueConstraint("policy_id", "revision"),)

    id: Mapped[str] = id_column()
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), nullable=False, index=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    kid: Mapped[str] = mapped_column(ForeignKey("signing_keys.kid"), nullable=False)
    jws: Mapped[str] = mapped_column(Text, nullable=False)
    custodial: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()

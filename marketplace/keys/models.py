from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, created_column
from ..extensions import db


class SigningKey(db.Model):
    """A public key (JWK) and, for keys the service signs with, its private key wrapped under the KEK."""

    __tablename__ = "signing_keys"
    __table_args__ = (
        CheckConstraint("purpose IN ('platform','insurer','log')", name="purpose"),
        CheckConstraint("status IN ('active','retired')", name="status"),
    )

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)  # RFC 7638 thumbprint
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    public_jwk: Mapped[dict] = mapped_column(JSON, nullable=False)
    private_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)  # None: the owner keeps the private key
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at: Mapped[datetime] = created_column()
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"SigningKey({self.kid}, {self.purpose}, {self.status})"

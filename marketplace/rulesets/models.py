from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import created_column, id_column
from ..extensions import db


class RuleSetVersion(db.Model):
    """A published rule-set version: the document exactly as published, with its digest. Never updated."""

    __tablename__ = "ruleset_versions"
    __table_args__ = (UniqueConstraint("ruleset_id", "version"),)

    id: Mapped[str] = id_column()
    ruleset_id: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[str] = mapped_column(String(32), nullable=False)
    jurisdiction: Mapped[str] = mapped_column(String(8), nullable=False, index=True)
    effective_from: Mapped[date] = mapped_column(Date, nullable=False)
    digest: Mapped[str] = mapped_column(String(71), nullable=False, unique=True)
    document: Mapped[str] = mapped_column(Text, nullable=False)  # RFC 8785 canonical JSON
    published_by: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    published_at: Mapped[datetime] = created_column()

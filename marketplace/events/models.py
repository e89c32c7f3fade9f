from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, created_column, id_column
from ..extensions import db

KINDS = ("policy.amended", "policy.cancelled", "policy.lapsed", "insurer.suspended", "obligation.recomputed")


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    subject_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import created_column
from ..extensions import db


class LogState(db.Model):
    """One row: the tree size. Every append updates it, which serialises appends (the sequencer)."""

    __tablename__ = "tlog_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class LogEntry(db.Model):
    __tablename__ = "tlog_entries"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # issuance | revocation
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    certificate_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = created_column()


class LogNode(db.Model):
    """Hash of the complete subtree over leaves [idx * 2^level, (idx + 1) * 2^level); level 0 = leaf hashes."""

    __tablename__ = "tlog_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False, index=True)


class Checkpoint(db.Model):
    """A signed tree head, kept forever."""

    __tablename__ = "tlog_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_column()

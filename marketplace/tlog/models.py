from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, created_column
from ..extensions import db


class LogState(db.Model):
    """One row: the tree size. Only the sequencer updates it, under its lock (DESIGN 9)."""

    __tablename__ = "tlog_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class QueuedEntry(db.Model):
    """An entry waiting for the sequencer: written in the transaction of what it records (an issuance, a
    revocation), so it commits or rolls back with it; the sequencer moves it into the tree in a batch."""

    __tablename__ = "tlog_queue"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    certificate_id: Mapped[str | None] = mapped_column(String(36))
    queued_at: Mapped[datetime] = created_column()


class LogEntry(db.Model):
    """An integrated entry: created_at is when the sequencer integrated it, queued_at when it was queued
    (the difference is the merge delay)."""

    __tablename__ = "tlog_entries"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # issuance | revocation
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    certificate_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = created_column()
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Leaf hashes are looked up (a leaf's index, by hash); other levels never are. Each append adds its leaf's random
# hash to this index, so keep it to the leaves, and on PostgreSQL a hash index (about 20 bytes an entry where a
# b-tree of 32-byte keys takes over 40): at 1e7 entries it is what the appends touch at random.
LEAF = text("level = 0")


class LogNode(db.Model):
    """Hash of the complete subtree over leaves [idx * 2^level, (idx + 1) * 2^level); level 0 = leaf hashes."""

    __tablename__ = "tlog_nodes"
    __table_args__ = (Index("ix_tlog_nodes_leaf_hash", "hash", postgresql_using="hash", postgresql_where=LEAF,
                            sqlite_where=LEAF),)

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class Checkpoint(db.Model):
    """A signed tree head, kept forever."""

    __tablename__ = "tlog_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_column()

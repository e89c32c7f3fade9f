"""Status-list slots for new certificates, with no lock shared by issuances.

A slot is a random index (not sequential, so neighbours reveal nothing) in the first list less than half full.
Candidates are drawn at random and checked in one indexed query; the unique constraint on (status_list_id,
status_index) settles the rare race of two issuances drawing the same free slot (the issuer draws again: its INSERT
... ON CONFLICT DO NOTHING wrote nothing). No issuance updates the list's row, so none waits for another: the
list's `used` count is refreshed by a recount only when the probes suggest the list is about half full, and a list
counted at half is closed (new certificates go to a new list). A list larger than SAMPLE slots is first looked at
through a random window of SAMPLE slots (~0.5 ms), and recounted (every used slot: ~10-20 ms at 65,536) only once
the window is at least 54% used: such a list closes between half and about 56% full (a window of a list still under
half shows 54% with p < 0.0002; at 56% full, 16 candidates are all taken with p < 0.0001). Without the window, the
probes asked for a recount on about every other issuance while a list went from 40% to 50% full.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError

from ..db.locking import transaction_memo
from ..extensions import db
from .models import LIST_SIZE, Certificate, StatusList

OPENED = "status_lists_opened"  # session.info key: lists this transaction created (cleared at its end)
CANDIDATES = 16  # per query; in a list at most about half full each is free with p >= 1/2
ROUNDS = 8
SAMPLE = 2048  # slots counted in the first look (a smaller list is counted whole, exactly)


def _open_list(list_size: int) -> int:
    if list_size < 8 or list_size % 8:
        raise ValueError("a status list's size is a positive multiple of 8")
    row = StatusList(size=list_size, bits=bytes(list_size // 8), used=0)
    db.session.add(row)
    db.session.flush()
    transaction_memo(db.session(), OPENED, set).add(row.id)
    return row.id


def _maybe_half_full(list_id: int, size: int) -> bool:
    """The first look: False while a random window of SAMPLE slots is under 54% used."""
    if size <= SAMPLE:
        return True  # the exact recount costs no more
    start = secrets.randbelow(size - SAMPLE + 1)
    seen = db.session.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.status_list_id == list_id, Certificate.status_index >= start,
        Certificate.status_index < start + SAMPLE))
    return seen * 100 >= 54 * SAMPLE


def _close_if_half_full(list_id: int, size: int) -> bool:
    """Recount; mark the list full (so no new certificate goes there) once half of it is used."""
    if not _maybe_half_full(list_id, size):
        return False
    used = db.session.scalar(select(func.count()).select_from(Certificate)
                             .where(Certificate.status_list_id == list_id))
    if used * 2 < size:
        return False
    close = update(StatusList).where(StatusList.id == list_id).values(used=used)
    opened_here = list_id in transaction_memo(db.session(), OPENED, set)
    if db.session.get_bind().dialect.name != "postgresql" or opened_here:
        db.session.execute(close)  # SQLite has one writer; a list this transaction made is its alone
        return True
    return _close_apart(close)  # if that cannot be done now, the next issuance tries again


def _close_apart(close) -> bool:
    """Close in a short transaction of its own: the issuance must never hold a list's row lock (revocations
    take them, in list order) or it could wait for them in a cycle; kept even if the issuance rolls back
    (the count was true). False when another transaction holds the row just now."""
    try:
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '200ms'"))
            return conn.execute(close).rowcount == 1
    except OperationalError:
        return False


def assign(list_size: int | None = None) -> tuple[int, int]:
    """(list id, index) of a random free slot. The first free candidate in the order drawn is uniform over
    the free slots. A new list has `list_size` entries (LIST_SIZE)."""
    list_size = list_size or LIST_SIZE
    for _ in range(ROUNDS):
        row = db.session.execute(select(StatusList.id, StatusList.size).where(StatusList.used * 2 < StatusList.size)
                                 .order_by(StatusList.id).limit(1)).first()
        list_id, size = row if row is not None else (_open_list(list_size), list_size)
        drawn = list(dict.fromkeys(secrets.randbelow(size) for _ in range(CANDIDATES)))
        taken = set(db.session.scalars(select(Certificate.status_index).where(
            Certificate.status_list_id == list_id, Certificate.status_index.in_(drawn))))
        free = [i for i in drawn if i not in taken]
        if len(free) * 2 <= len(drawn) and _close_if_half_full(list_id, size):
            continue  # this list is closed now: draw from the next one
        if free:
            return list_id, free[0]
    raise RuntimeError("no free status-list slot found")  # unreachable in practice: a new list opens

"""Bitstring status lists: revocation bits and the signed list credential (slots for new certificates are
assigned by slots.py, with no lock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm.util import identity_key

from ..crypto import bitstring, jws
from ..db import utcnow
from ..db.locking import lock_row
from ..extensions import db
from ..keys import service as keys
from .models import LIST_SIZE, StatusList

TTL_SECONDS = 300
FILL_LIMIT = LIST_SIZE // 2  # beyond half full, random picks collide too often: slots.py opens a new list


def list_url(list_id: int) -> str:
    return f"{current_app.config['BASE_URL']}/api/v1/status-lists/{list_id}"


REPUBLISH_AFTER = timedelta(seconds=TTL_SECONDS * 2 // 5)  # the schedule re-signs well before the ttl runs out


def set_revoked(list_id: int, index: int) -> None:
    """Set the bit and withdraw the published list, under the list's row lock (held to commit). The next
    reader re-signs it from the new bits, so a revocation is visible as soon as it commits, and the
    revoking transaction holds the lock only for short statements (no signing under it). PostgreSQL sets
    the bit in place, in one statement (the 16 KiB of bits never travel); lock_version moves either way, so
    a reader signing older bits will not store them."""
    if db.session.get_bind().dialect.name == "postgresql":
        # set_bit numbers a byte's bits from the right; the W3C list numbers them from the left
        db.session.execute(update(StatusList).where(StatusList.id == list_id).values(
            bits=func.set_bit(StatusList.bits, index // 8 * 8 + 7 - index % 8, 1), updated_at=utcnow(),
            published=None, published_at=None, lock_version=StatusList.lock_version + 1)
            .execution_options(synchronize_session=False))
        loaded = db.session.identity_map.get(identity_key(StatusList, list_id))
        if loaded is not None:
            db.session.expire(loaded)
        return
    sl = lock_row(StatusList, list_id)  # bumps lock_version: a reader signing older bits will not store them
    bits = bytearray(sl.bits)
    bitstring.set_bit(bits, index)
    sl.bits, sl.updated_at, sl.published, sl.published_at = bytes(bits), utcnow(), None, None


def credential(list_id: int, now: datetime, row: tuple[str, datetime] | None = None) -> str | None:
    """The published list, re-signed here when a revocation withdrew it or its ttl ran out (never stale).
    Reads the published text and its time only (never the 16 KiB of bits), or takes them as `row` from a
    caller that read them (online verification's snapshot query). What is derived from the text (its parse,
    its signature check, the decoded bits) is cached by the text itself: a new bit is a new key."""
    if row is None:
        row = db.session.execute(select(StatusList.published, StatusList.published_at)
                                 .where(StatusList.id == list_id)).first()
    if row is None:
        return None
    published, at = row
    if published is None or at is None or now - at >= timedelta(seconds=TTL_SECONDS):
        return _republish(list_id, now)
    return published


def _republish(list_id: int, now: datetime) -> str:
    """Sign the list's bits as read now; store the text only if no revocation changed the list meanwhile
    (optimistic: a conditional UPDATE on lock_version, so an older text never overwrites a newer state).
    The text returned is right for this reader either way: it reflects every revocation committed before."""
    sl = db.session.execute(select(StatusList.bits, StatusList.lock_version).where(StatusList.id == list_id)).one()
    text = _sign(list_id, sl.bits, now)
    db.session.execute(update(StatusList).where(StatusList.id == list_id, StatusList.lock_version == sl.lock_version)
                       .values(published=text, published_at=now).execution_options(synchronize_session=False))
    return text


def seconds_left(list_id: int, now: datetime) -> int:
    """Seconds until the published list reaches its ttl."""
    sl = db.session.get(StatusList, list_id)
    if sl is None or sl.published_at is None:
        return 0
    return max(0, int(TTL_SECONDS - (now - sl.published_at).total_seconds()))


def republish_due(now: datetime | None = None) -> dict:
    """Re-sign every list published more than REPUBLISH_AFTER ago, or withdrawn (a scheduled job). Each list
    in its own short transaction (no lock held across lists), and only if unchanged since read."""
    from ..uow import unit_of_work

    now = now or utcnow()
    due = db.session.scalars(select(StatusList.id).where(
        (StatusList.published_at.is_(None)) | (StatusList.published_at < now - REPUBLISH_AFTER))
        .order_by(StatusList.id)).all()
    for list_id in due:
        with unit_of_work():
            _republish(list_id, now)
    return {"republished": len(due)}


def _sign(list_id: int, bits: bytes, now: datetime) -> str:
    """The list as a signed BitstringStatusListCredential (compact JWS, typ vc+jwt)."""
    url = list_url(list_id)
    payload = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": current_app.config["BASE_URL"],
        "validFrom": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        # ttl belongs to the BitstringStatusList (W3C Bitstring Status List 1.0, 2.2): there other verifiers
        # read it, and the v2 context defines it
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                              "encodedList": bitstring.encode(bits), "ttl": TTL_SECONDS * 1000},
    }
    return jws.sign(payload, keys.signer(keys.platform_key()), "vc+jwt")

"""Bitstring status lists: random index assignment, revocation bits, the signed list credential."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ..crypto import bitstring, jws
from ..db import utcnow
from ..db.locking import lock_row
from ..extensions import db
from ..keys import service as keys
from .models import LIST_SIZE, Certificate, StatusList

TTL_SECONDS = 300
FILL_LIMIT = LIST_SIZE // 2  # beyond half full, random picks collide too often: open a new list


def list_url(list_id: int) -> str:
    return f"{current_app.config['BASE_URL']}/api/v1/status-lists/{list_id}"


def assign() -> tuple[int, int]:
    """A random unused index (not sequential, so neighbours reveal nothing)."""
    current = db.session.scalar(select(StatusList).where(StatusList.used < FILL_LIMIT).order_by(StatusList.id))
    if current is None:
        current = StatusList(size=LIST_SIZE, bits=bytes(LIST_SIZE // 8), used=0)
        db.session.add(current)
        db.session.flush()
    sl = lock_row(StatusList, current.id)
    taken = set(db.session.scalars(select(Certificate.status_index).filter_by(status_list_id=sl.id)))
    while True:
        index = secrets.randbelow(sl.size)
        if index not in taken:
            sl.used += 1
            return sl.id, index


REPUBLISH_AFTER = timedelta(seconds=TTL_SECONDS * 2 // 5)  # the schedule re-signs well before the ttl runs out


def set_revoked(list_id: int, index: int) -> None:
    sl = lock_row(StatusList, list_id)
    bits = bytearray(sl.bits)
    bitstring.set_bit(bits, index)
    sl.bits, sl.updated_at = bytes(bits), utcnow()
    _publish(sl, sl.updated_at)  # a revocation is visible in the very transaction that makes it


def credential(list_id: int, now: datetime) -> str | None:
    """The published list; re-signed here only if the schedule fell behind its ttl (never served stale)."""
    sl = db.session.get(StatusList, list_id)
    if sl is None:
        return None
    if sl.published is None or sl.published_at is None or now - sl.published_at >= timedelta(seconds=TTL_SECONDS):
        _publish(sl, now)
    return sl.published


def seconds_left(list_id: int, now: datetime) -> int:
    """Seconds until the published list reaches its ttl."""
    sl = db.session.get(StatusList, list_id)
    if sl is None or sl.published_at is None:
        return 0
    return max(0, int(TTL_SECONDS - (now - sl.published_at).total_seconds()))


def republish_due(now: datetime | None = None) -> dict:
    """Re-sign every list published more than REPUBLISH_AFTER ago (a scheduled job)."""
    now = now or utcnow()
    due = db.session.scalars(select(StatusList).where(
        (StatusList.published_at.is_(None)) | (StatusList.published_at < now - REPUBLISH_AFTER))).all()
    for sl in due:
        _publish(lock_row(StatusList, sl.id), now)
    return {"republished": len(due)}


def _publish(sl: StatusList, now: datetime) -> None:
    sl.published, sl.published_at = _sign(sl, now), now


def _sign(sl: StatusList, now: datetime) -> str:
    """The list as a signed BitstringStatusListCredential (compact JWS, typ vc+jwt)."""
    list_id = sl.id
    url = list_url(list_id)
    payload = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": current_app.config["BASE_URL"],
        "validFrom": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ttl": TTL_SECONDS * 1000,
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                              "encodedList": bitstring.encode(sl.bits)},
    }
    return jws.sign(payload, keys.signer(keys.platform_key()), "vc+jwt")

"""Bitstring status lists: random index assignment, revocation bits, the signed list credential."""

from __future__ import annotations

import secrets
from datetime import datetime

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


def set_revoked(list_id: int, index: int) -> None:
    sl = lock_row(StatusList, list_id)
    bits = bytearray(sl.bits)
    bitstring.set_bit(bits, index)
    sl.bits, sl.updated_at = bytes(bits), utcnow()


def credential(list_id: int, now: datetime) -> str | None:
    """The list as a signed BitstringStatusListCredential (compact JWS, typ vc+jwt)."""
    sl = db.session.get(StatusList, list_id)
    if sl is None:
        return None
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

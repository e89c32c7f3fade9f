"""The log's signing key, origin line and verifier key (shared by the sequencer and the reads)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from ..crypto.b64 import unb64u
from ..extensions import db
from ..keys.models import SigningKey
from . import note


def origin() -> str:
    configured = current_app.config.get("TLOG_ORIGIN")
    return configured or f"{urlsplit(current_app.config['BASE_URL']).netloc}/reserve-offset-log"


def log_key() -> SigningKey:
    from ..crypto.keys import KeyPair
    from ..keys import service as keys

    row = db.session.scalar(select(SigningKey).filter_by(purpose="log", status="active"))
    if row is None:
        kp = KeyPair.generate()
        row = SigningKey(kid=kp.kid, purpose="log", owner_id=None, public_jwk=kp.public_jwk,
                         private_wrapped=kp.wrap(keys.kek(), kp.kid.encode()), status="active")
        db.session.add(row)
        db.session.flush()
    return row


def sign_checkpoint(size: int, root: bytes) -> str:
    """The signed note of the tree head (size, root), signed with the log's key."""
    from ..keys import service as keys

    row = log_key()
    return note.sign(note.body(origin(), size, root), origin(), keys.signer(row), _public(row.public_jwk))


def _public(jwk: dict) -> bytes:
    return unb64u(jwk["x"])


def verifier_key() -> str:
    return verifier_key_of(log_key().public_jwk)


def verifier_key_of(public_jwk: dict) -> str:
    """The C2SP verifier key of the log key whose public JWK a caller read (with the checkpoint, say)."""
    return note.verifier_key(origin(), _public(public_jwk))

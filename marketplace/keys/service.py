"""Key lifecycle. Private keys exist unwrapped only inside `signer()` calls; never in logs or answers."""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..crypto.b64 import b64u, unb64u
from ..crypto.keys import KeyError_, KeyPair, new_kek, public_key, thumbprint
from ..db import utcnow
from ..errors import Conflict, NotFound, ServiceError, Unprocessable
from ..extensions import db
from ..registry.models import InsurerApproval, Organization
from ..registry.service import approved_jurisdictions
from .models import SigningKey


class SigningUnavailable(ServiceError):
    status = 503
    title = "Signing unavailable"


def kek() -> bytes:
    """The key-encryption key: MARKETPLACE_KEY_ENCRYPTION_KEY, or in development a generated file under
    instance/ (mode 0600). Production without the variable refuses to sign."""
    configured = current_app.config.get("KEY_ENCRYPTION_KEY")
    if configured:
        try:
            raw = unb64u(configured.strip())
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise SigningUnavailable("MARKETPLACE_KEY_ENCRYPTION_KEY must be 32 bytes, base64url-encoded")
        return raw
    if current_app.config.get("ENV_NAME") == "production":
        raise SigningUnavailable("signing is disabled: MARKETPLACE_KEY_ENCRYPTION_KEY is not set")
    path = Path(current_app.instance_path) / "key-encryption-key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(b64u(new_kek()))
    return unb64u(path.read_text().strip())


def _store(kp: KeyPair, purpose: str, owner_id: str | None) -> SigningKey:
    row = SigningKey(kid=kp.kid, purpose=purpose, owner_id=owner_id, public_jwk=kp.public_jwk,
                     private_wrapped=kp.wrap(kek(), kp.kid.encode()), status="active")
    db.session.add(row)
    db.session.flush()
    return row


def signer(row: SigningKey) -> KeyPair:
    if row.private_wrapped is None:
        raise Conflict("the service does not hold this key's private half")
    if row.status != "active":
        raise Conflict(f"key {row.kid} is retired and never signs again")
    try:
        return KeyPair.unwrap(row.private_wrapped, kek(), row.kid.encode())
    except KeyError_ as e:
        raise SigningUnavailable(str(e)) from None


def platform_key() -> SigningKey:
    """The active platform key, created on first use."""
    row = db.session.scalar(select(SigningKey).filter_by(purpose="platform", status="active"))
    return row if row is not None else _store(KeyPair.generate(), "platform", None)


def rotate_platform() -> tuple[SigningKey | None, SigningKey]:
    old = db.session.scalar(select(SigningKey).filter_by(purpose="platform", status="active"))
    if old is not None:
        old.status, old.retired_at = "retired", utcnow()
    db.session.flush()
    return old, _store(KeyPair.generate(), "platform", None)


def jwk_entry(row: SigningKey) -> dict:
    return {**row.public_jwk, "kid": row.kid, "use": "sig", "alg": "EdDSA", "status": row.status}


def platform_jwks() -> dict:
    rows = db.session.scalars(select(SigningKey).filter_by(purpose="platform").order_by(SigningKey.created_at))
    return {"keys": [jwk_entry(r) for r in rows]}


def insurer_jwks(insurer_id: str) -> dict:
    rows = db.session.scalars(select(SigningKey).filter_by(purpose="insurer", owner_id=insurer_id)
                              .order_by(SigningKey.created_at))
    return {"keys": [jwk_entry(r) for r in rows]}


def require_approved(insurer_id: str, action: str) -> None:
    """Only an insurer some regulator approves may register keys or attest (409 naming its standing)."""
    if approved_jurisdictions(insurer_id):
        return
    org = db.session.get(Organization, insurer_id)
    standing = db.session.execute(select(Organization.jurisdiction, InsurerApproval.status)
                                  .join(InsurerApproval, InsurerApproval.regulator_id == Organization.id)
                                  .where(InsurerApproval.insurer_id == insurer_id)
                                  .order_by(Organization.jurisdiction)).all()
    where = ", ".join(f"{status} in {j}" for j, status in standing) or "no approval requested"
    raise Conflict(f"{org.name if org else insurer_id} is not approved by any regulator ({where}); "
                   f"an insurer must be approved before it can {action}", current_state="not approved")


def register_insurer_key(insurer_id: str, jwk: dict) -> SigningKey:
    require_approved(insurer_id, "register signing keys")
    try:
        public_key(jwk)
    except KeyError_ as e:
        raise Unprocessable(f"unusable key: {e}", {"jwk": [str(e)]}) from None
    clean = {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]}
    kid = thumbprint(clean)
    existing = db.session.get(SigningKey, kid)
    if existing is not None:
        if existing.owner_id != insurer_id:
            raise Conflict("this key is registered to another organization")
        return existing
    row = SigningKey(kid=kid, purpose="insurer", owner_id=insurer_id, public_jwk={**clean, "kid": kid},
                     private_wrapped=None, status="active")
    db.session.add(row)
    db.session.flush()
    return row


def custodial_insurer_key(insurer_id: str) -> SigningKey:
    """The insurer's active custodial key, created when first asked for (approved insurers only)."""
    require_approved(insurer_id, "hold a signing key")
    row = db.session.scalar(select(SigningKey).where(SigningKey.purpose == "insurer", SigningKey.owner_id == insurer_id,
                                                     SigningKey.status == "active",
                                                     SigningKey.private_wrapped.is_not(None)))
    return row if row is not None else _store(KeyPair.generate(), "insurer", insurer_id)


def retire_insurer_key(insurer_id: str, kid: str) -> SigningKey:
    row = db.session.get(SigningKey, kid)
    if row is None or row.owner_id != insurer_id:
        raise NotFound(f"no key {kid}")
    if row.status == "active":
        row.status, row.retired_at = "retired", utcnow()
    db.session.flush()
    return row


def find(kid: str) -> SigningKey | None:
    return db.session.get(SigningKey, kid) if isinstance(kid, str) and len(kid) <= 64 else None



def insurer_keys(insurer_id: str) -> list[SigningKey]:
    """The insurer's signing keys, oldest first (read-only; custodial ones hold a wrapped private half)."""
    return list(db.session.scalars(select(SigningKey).filter_by(purpose="insurer", owner_id=insurer_id)
                                   .order_by(SigningKey.created_at, SigningKey.kid)))

"""Key lifecycle. Private keys exist unwrapped only inside `signer()` calls; never in logs or answers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select

from ..cache import LRU
from ..crypto.b64 import b64u, unb64u
from ..crypto.keys import KeyError_, KeyPair, new_kek, public_key, thumbprint
from ..db import utcnow
from ..db.lists import by_dialect, json_rows, one_of
from ..errors import Conflict, NotFound, ServiceError, Unprocessable
from ..extensions import db, plain_rows
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


# unwrapped private keys, keyed by what unwrapping them reads: the row's kid and wrapped bytes, and the
# key-encryption key (a changed KEK or re-wrapped key is a new entry). Whether the key may still sign is
# checked on the row each time, never cached: a retired key stops signing with the next request.
_unwrapped = LRU(64)


def signer(row: SigningKey) -> KeyPair:
    if row.private_wrapped is None:
        raise Conflict("the service does not hold this key's private half")
    if row.status != "active":
        raise Conflict(f"key {row.kid} is retired and never signs again")
    wrapped, wrapping_key = bytes(row.private_wrapped), kek()
    try:
        return _unwrapped.get_or_compute((row.kid, wrapped, wrapping_key),
                                         lambda: KeyPair.unwrap(wrapped, wrapping_key, row.kid.encode()))
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


# Public keys as JWKS (issue 15). Every call reads the key rows' (kid, purpose, owner, status) afresh, in one
# query, so a rotation, a new registration or a retirement made by any process is seen by the very next call;
# what is cached is only what those rows determine: the public half of a kid (a kid is the RFC 7638 thumbprint
# of its key, checked before caching, so it names one key forever) and each JWKS built from a tuple of rows.
_PUBLIC = LRU(4096)  # kid -> stored public JWK
_JWKS = LRU(1024)    # ((kid, status), ...) -> {"keys": [...]}, shared: callers must not change it


@dataclass(frozen=True)
class Keyring:
    platform: dict                    # the platform JWKS (active and retired keys, oldest first)
    insurers: dict[str, dict]         # insurer org id -> its JWKS (oldest first), for the ids asked for
    log: dict | None = None           # the active log key's public JWK, when asked for and there is one


def _key_rows(insurers: bool, log: bool, postgres: bool):
    which = [SigningKey.purpose == "platform"]
    if insurers:
        which.append((SigningKey.purpose == "insurer") & one_of(SigningKey.owner_id, "ids", postgres))
    if log:
        which.append((SigningKey.purpose == "log") & (SigningKey.status == "active"))
    return select(SigningKey.kid, SigningKey.purpose, SigningKey.owner_id, SigningKey.status).where(or_(*which))


_KEY_ORDER = (SigningKey.created_at, SigningKey.kid)
_KEY_ROWS = {(insurers, log): by_dialect(lambda pg, i=insurers, lg=log: _key_rows(i, lg, pg).order_by(*_KEY_ORDER))
             for insurers in (False, True) for log in (False, True)}
# The same rows as one column of a caller's own statement (online verification reads them with the certificate's
# status, its list, the checkpoint and its policies): platform, the insurers bound as "ids", the active log key.
# Give keyring_of rows_in_order(that column).
KEY_ROWS_JSON = by_dialect(lambda pg: json_rows(_key_rows(True, True, pg), _KEY_ORDER, pg))


def insurer_list(insurer_ids) -> list[str]:
    """The insurer ids as keyring reads them (bound as "ids"): strings, once each, sorted."""
    return sorted({i for i in insurer_ids if isinstance(i, str)})


def keyring(insurer_ids=(), log: bool = False) -> Keyring:
    """The platform JWKS, the named insurers' JWKS and (optionally) the log key, in one query."""
    insurer_ids = insurer_list(insurer_ids)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    rows = plain_rows(_KEY_ROWS[bool(insurer_ids), log][postgres], {"ids": insurer_ids} if insurer_ids else {}).all()
    return keyring_of(rows, insurer_ids)


def keyring_of(rows, insurer_ids: list[str]) -> Keyring:
    """The keyring of key rows (kid, purpose, owner id, status) read just now, oldest first, for insurer_list ids."""
    publics = {r[0]: v for r in rows if (v := _PUBLIC.get(r[0])) is not None}
    vouched = set(publics)  # kids whose public half is known to be theirs (cached only after the check)
    missing = [r[0] for r in rows if r[0] not in publics]
    if missing:
        for kid, jwk in db.session.execute(select(SigningKey.kid, SigningKey.public_jwk)
                                           .where(SigningKey.kid.in_(missing))):
            publics[kid] = jwk
            if isinstance(jwk, dict) and _thumbprint_ok(kid, jwk):
                _PUBLIC.put(kid, jwk)
                vouched.add(kid)
    groups: dict[tuple[str, str | None], list] = {("platform", None): []}
    groups.update({("insurer", i): [] for i in insurer_ids})
    log_jwk = None
    for kid, purpose, owner_id, status in rows:
        if purpose == "log":
            log_jwk = log_jwk or publics[kid]
        else:
            groups.setdefault((purpose, owner_id if purpose == "insurer" else None), []).append(
                (kid, status, publics[kid]))
    jwks = {k: _jwks(v, vouched) for k, v in groups.items()}
    return Keyring(jwks[("platform", None)], {i: jwks[("insurer", i)] for i in insurer_ids}, log_jwk)


def _thumbprint_ok(kid: str, jwk: dict) -> bool:
    try:
        return thumbprint(jwk) == kid
    except (KeyError, TypeError):
        return False


def _jwks(entries: list[tuple[str, str, dict]], vouched: set[str]) -> dict:
    def build():
        return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "EdDSA", "status": status}
                         for kid, status, public in entries]}

    key = tuple((kid, status) for kid, status, _ in entries)
    if not all(kid in vouched for kid, _ in key):  # a key we could not vouch for: built afresh, never kept
        return build()
    return _JWKS.get_or_compute(key, build)


def platform_jwks() -> dict:
    """The platform JWKS (read-only: it may be shared with other requests)."""
    return keyring().platform


def insurer_jwks(insurer_id: str) -> dict:
    """An insurer's JWKS (read-only: it may be shared with other requests)."""
    return keyring([insurer_id]).insurers[insurer_id]


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

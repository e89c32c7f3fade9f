"""Ed25519 key pairs, JWK form, thumbprints, and encryption of private keys at rest."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from .b64 import b64u, unb64u
from .edwards import problem


class KeyError_(ValueError):
    """A key is malformed, of the wrong type, or cannot be unwrapped. Never carries key material."""


def thumbprint(public_jwk: dict) -> str:
    """RFC 7638 thumbprint of an OKP key: SHA-256 over {"crv","kty","x"} in lexicographic order."""
    canonical = json.dumps({"crv": public_jwk["crv"], "kty": public_jwk["kty"], "x": public_jwk["x"]},
                           separators=(",", ":"), sort_keys=True)
    return b64u(hashlib.sha256(canonical.encode()).digest())


def public_jwk_from_raw(raw: bytes) -> dict:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
    jwk["kid"] = thumbprint(jwk)
    return jwk


def public_key(jwk: dict) -> Ed25519PublicKey:
    """The verifying key of an OKP/Ed25519 JWK; anything else is refused."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise KeyError_("the key must be an OKP JWK with crv Ed25519")
    if "d" in jwk:
        raise KeyError_("send the public key only (no 'd')")
    x = jwk.get("x", "")
    if not isinstance(x, str):
        raise KeyError_("x is not base64url")
    return _public_key_from_x(x) if len(x) <= 64 else _public_key_from_x.__wrapped__(x)


@lru_cache(maxsize=1024)
def _public_key_from_x(x: str) -> Ed25519PublicKey:
    """Decoded once per distinct x (a batch verifies many documents with the same few keys); immutable."""
    try:
        raw = unb64u(x)
    except (ValueError, TypeError):
        raise KeyError_("x is not base64url") from None
    if len(raw) != 32:
        raise KeyError_("x must be 32 bytes")
    unsafe = problem(raw)
    if unsafe:
        raise KeyError_(unsafe)
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class KeyPair:
    """A private key held in memory only while signing. repr() never shows it."""

    _private: Ed25519PrivateKey

    def __repr__(self) -> str:
        return f"KeyPair(kid={self.kid})"

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_jwk(cls, jwk: dict) -> KeyPair:
        """A private OKP JWK (with 'd'), as an insurer keeps for `marketplace attest`."""
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" not in jwk:
            raise KeyError_("a private OKP Ed25519 JWK (with 'd') is needed")
        try:
            kp = cls(Ed25519PrivateKey.from_private_bytes(unb64u(jwk["d"])))
        except (ValueError, TypeError):
            raise KeyError_("d is not a valid Ed25519 private key") from None
        if "x" in jwk and jwk["x"] != kp.public_jwk["x"]:
            raise KeyError_("x does not match d")
        return kp

    @property
    def public_jwk(self) -> dict:
        return public_jwk_from_raw(self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]

    def private_jwk(self) -> dict:
        d = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return {**self.public_jwk, "d": b64u(d)}

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def wrap(self, kek: bytes, aad: bytes) -> bytes:
        """AES-256-GCM(kek) of the raw private key, bound to `aad` (the key id): nonce || ciphertext."""
        nonce = os.urandom(12)
        raw = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return nonce + AESGCM(_kek(kek)).encrypt(nonce, raw, aad)

    @classmethod
    def unwrap(cls, blob: bytes, kek: bytes, aad: bytes) -> KeyPair:
        try:
            raw = AESGCM(_kek(kek)).decrypt(blob[:12], blob[12:], aad)
        except (InvalidTag, ValueError):
            raise KeyError_("the stored key cannot be decrypted with this key-encryption key") from None
        return cls(Ed25519PrivateKey.from_private_bytes(raw))


def _kek(kek: bytes) -> bytes:
    if not isinstance(kek, bytes) or len(kek) != 32:
        raise KeyError_("the key-encryption key must be 32 bytes")
    return kek


def new_kek() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def verify_signature(jwk: dict, signature: bytes, data: bytes) -> bool:
    try:
        public_key(jwk).verify(signature, data)
        return True
    except (InvalidSignature, KeyError_, ValueError):
        return False


def verify_signature_memo(jwk: dict, signature: bytes, data: bytes, memo) -> bool:
    """verify_signature(), answered from `memo` (a mapping with get/put, e.g. marketplace.cache.LRU) when
    this exact (data, signature, public key) was verified before: a pure function of those bytes, so an
    entry never goes stale. Only for documents many requests share (status lists, attestations); a key
    that is not a plain public Ed25519 JWK is always checked afresh."""
    x = jwk.get("x") if isinstance(jwk, dict) else None
    if memo is None or type(x) is not str or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
        return verify_signature(jwk, signature, data)
    key = (x, signature, data)
    ok = memo.get(key)
    if ok is None:
        ok = memo.put(key, verify_signature(jwk, signature, data))
    return ok

"""Compact JWS with EdDSA (RFC 7515, RFC 8037). Verification is strict: only alg EdDSA is accepted."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .b64 import b64u, unb64u
from .keys import KeyPair, verify_signature

MAX_JWS_BYTES = 256 * 1024


class JWSError(ValueError):
    """The JWS is malformed; the message says how, in plain words."""


def sign(payload: dict, key: KeyPair, typ: str) -> str:
    header = {"alg": "EdDSA", "kid": key.kid, "typ": typ}
    signing_input = b64u(_json(header)) + "." + b64u(_json(payload))
    return signing_input + "." + b64u(key.sign(signing_input.encode("ascii")))


def _json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Parsed:
    header: dict
    payload: dict
    signing_input: bytes
    signature: bytes

    @property
    def kid(self) -> str | None:
        return self.header.get("kid")

    def verify_with(self, jwk: dict) -> bool:
        return verify_signature(jwk, self.signature, self.signing_input)


def parse(token: object) -> Parsed:
    """Split and decode a compact JWS without trusting it. Raises JWSError with the reason."""
    if not isinstance(token, str):
        raise JWSError("a compact JWS must be a string")
    token = token.strip()
    if len(token) > MAX_JWS_BYTES:
        raise JWSError(f"larger than {MAX_JWS_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSError("a compact JWS has three dot-separated parts")
    try:
        header = json.loads(unb64u(parts[0]))
        payload = json.loads(unb64u(parts[1]))
        signature = unb64u(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise JWSError("a part is not base64url-encoded JSON") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JWSError("header and payload must be JSON objects")
    if header.get("alg") != "EdDSA":
        raise JWSError(f"algorithm {header.get('alg')!r} is not accepted (only EdDSA)")
    if "crit" in header:
        raise JWSError("critical header parameters are not supported")
    if len(signature) != 64:
        raise JWSError("an Ed25519 signature is 64 bytes")
    return Parsed(header, payload, (parts[0] + "." + parts[1]).encode("ascii"), signature)

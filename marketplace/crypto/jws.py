"""Compact JWS with EdDSA (RFC 7515, RFC 8037). Verification is strict: only alg EdDSA is accepted."""

from __future__ import annotations

import json
import re
from functools import lru_cache

from ..domain import jsontext
from .b64 import b64u, unb64u
from .keys import KeyPair, verify_signature, verify_signature_memo

MAX_JWS_BYTES = 256 * 1024
MAX_SHARED_BYTES = 32 * 1024  # parse_shared keeps at most 64 documents this large (a status list is ~1 KiB)
MAX_DEPTH = 64  # a certificate nests about 5 deep; refuse before json recurses
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class JWSError(ValueError):
    """The JWS is malformed; the message says how, in plain words."""


def sign(payload: dict, key: KeyPair, typ: str) -> str:
    header = {"alg": "EdDSA", "kid": key.kid, "typ": typ}
    signing_input = b64u(_json(header)) + "." + b64u(_json(payload))
    return signing_input + "." + b64u(key.sign(signing_input.encode("ascii")))


def media_type(typ: object) -> str | None:
    """A typ header compared as RFC 7515 4.1.9 says: case-insensitive, "application/" implied when absent."""
    return typ.lower().removeprefix("application/") if isinstance(typ, str) else None


def _json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def brief(value: object, limit: int = 60) -> str:
    """A scalar's repr() cut short, or the kind of a container: safe to echo any untrusted value
    (repr escapes control characters and lone surrogates; containers could nest deep enough to recurse)."""
    if isinstance(value, dict | list | tuple):
        return "an object" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Parsed:
    """A decoded compact JWS (not yet verified). Plain slots: verification reads these fields often."""

    __slots__ = ("header", "kid", "payload", "signature", "signing_input")

    def __init__(self, header: dict, payload: dict, signing_input: bytes, signature: bytes):
        self.header, self.payload, self.signing_input, self.signature = header, payload, signing_input, signature
        self.kid: str | None = header.get("kid")

    def __repr__(self) -> str:
        return f"Parsed(kid={self.kid!r}, header={self.header!r})"

    def verify_with(self, jwk: dict, memo=None) -> bool:
        """Whether `jwk` signed this; `memo` (see keys.verify_signature_memo) for documents many share."""
        if memo is not None:
            return verify_signature_memo(jwk, self.signature, self.signing_input, memo)
        return verify_signature(jwk, self.signature, self.signing_input)


def _part(text: str, name: str):
    try:
        return jsontext.loads(unb64u(text), max_depth=MAX_DEPTH)
    except jsontext.JSONTextError as e:
        raise JWSError(f"the {name} is not acceptable JSON: {e}") from None
    except ValueError:
        raise JWSError(f"the {name} is not base64url") from None


def _header_problem(header) -> str | None:
    """Why a decoded protected header is refused (only EdDSA, no crit, short kid and typ), or None."""
    if not isinstance(header, dict):
        return None  # parse() refuses it as not a JSON object first
    if header.get("alg") != "EdDSA":
        return f"algorithm {brief(header.get('alg'))} is not accepted (only EdDSA)"
    if "crit" in header:
        return "critical header parameters are not supported"
    # kid and typ are strings (RFC 7515 4.1.4, 4.1.9); callers use kid as a lookup key
    for name in ("kid", "typ"):
        value = header.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 256
                                  or _CONTROL.search(value)):
            return f"header {name} must be a short string without control characters, not {brief(value)}"
    return None


def _checked_header(text: str):
    header = _part(text, "header")
    return header, _header_problem(header)


@lru_cache(maxsize=64)
def _header(text: str):
    """(header, why it is refused) for a protected header, worked out once per distinct text: every
    document one key signs has the same one. Callers get a copy of the header, so the cached one is never
    changed."""
    return _checked_header(text)


def parse(token: object) -> Parsed:
    """Split and decode a compact JWS without trusting it. Raises JWSError with the reason."""
    if not isinstance(token, str):
        raise JWSError("a compact JWS must be a string")
    token = token.strip()
    if len(token) > MAX_JWS_BYTES:
        raise JWSError(f"larger than {MAX_JWS_BYTES} bytes")
    # str.find scans with memchr; str.split would walk the whole text character by character
    first = token.find(".")
    second = token.find(".", first + 1) if first >= 0 else -1
    if second < 0 or token.find(".", second + 1) >= 0:
        raise JWSError("a compact JWS has three dot-separated parts")
    head = token[:first]
    header, problem = _header(head) if len(head) <= 512 else _checked_header(head)
    payload = _part(token[first + 1:second], "payload")
    try:
        signature = unb64u(token[second + 1:])
    except ValueError:
        raise JWSError("the signature is not base64url") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JWSError("header and payload must be JSON objects")
    if problem:
        raise JWSError(problem)
    if len(signature) != 64:
        raise JWSError("an Ed25519 signature is 64 bytes")
    return Parsed(dict(header), payload, token[:second].encode("ascii"), signature)


def parse_shared(token: object) -> Parsed:
    """parse() for a document many certificates share (a status list, an insurer's attestation): decoded
    once per distinct text. Same answers and errors as parse(); the payload is shared, so read it only."""
    if isinstance(token, str) and len(token) <= MAX_SHARED_BYTES:
        return _parse_cached(token)
    return parse(token)


@lru_cache(maxsize=64)
def _parse_cached(token: str) -> Parsed:
    return parse(token)

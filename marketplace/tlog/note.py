"""C2SP tlog-checkpoint bodies and C2SP signed-note Ed25519 signatures."""

from __future__ import annotations

import base64
import binascii
import hashlib
from functools import lru_cache

from ..crypto.b64 import b64u
from ..crypto.keys import KeyPair, verify_signature

DASH = "\u2014"


def key_id(name: str, public: bytes) -> bytes:
    """First 4 bytes of SHA-256(name || 0x0A || 0x01 || public key) (signed-note, Ed25519 type 0x01)."""
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public).digest()[:4]


def verifier_key(name: str, public: bytes) -> str:
    """name+hex(key id)+base64(0x01 || public key)."""
    encoded = base64.b64encode(b"\x01" + public).decode()
    return f"{name}+{key_id(name, public).hex()}+{encoded}"


def body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign(text: str, name: str, key: KeyPair, public: bytes) -> str:
    sig = key.sign(text.encode())
    return f"{text}\n{DASH} {name} {base64.b64encode(key_id(name, public) + sig).decode()}\n"


class NoteError(ValueError):
    pass


def parse_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    try:
        name, kid_hex, key_b64 = vkey.strip().split("+", 2)
        raw, kid = base64.b64decode(key_b64, validate=True), bytes.fromhex(kid_hex)
    except (ValueError, TypeError, AttributeError):
        raise NoteError("malformed verifier key") from None
    if len(raw) != 33 or raw[0] != 1 or kid != key_id(name, raw[1:]):
        raise NoteError("the verifier key is not a well-formed Ed25519 note key")
    return name, kid, raw[1:]


@lru_cache(maxsize=64)
def _verifier(vkey: str) -> tuple[str, bytes, dict]:
    """(name, key id, public JWK) of a verifier key, worked out once per distinct key: a batch checks
    thousands of receipts against the same one. Read only (the JWK is shared)."""
    name, kid, public = parse_verifier_key(vkey)
    return name, kid, {"kty": "OKP", "crv": "Ed25519", "x": b64u(public)}


def open_note(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Verify a signed checkpoint with a verifier key; return (origin, size, root)."""
    if not isinstance(vkey, str):
        raise NoteError("malformed verifier key")
    name, kid, jwk = _verifier(vkey)
    text, sep, sigs = note.partition("\n\n")
    if not sep:
        raise NoteError("a signed note has a blank line before its signatures")
    text += "\n"
    for line in sigs.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or parts[1] != name:
            continue
        try:
            blob = binascii.a2b_base64(parts[2], strict_mode=True)
        except (ValueError, TypeError):
            continue
        if blob[:4] == kid and verify_signature(jwk, blob[4:], text.encode()):
            lines = text.split("\n")
            try:
                return lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
            except (ValueError, IndexError):
                raise NoteError("the checkpoint body is malformed") from None
    raise NoteError("no valid signature by the log key")

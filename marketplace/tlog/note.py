"""C2SP tlog-checkpoint bodies and C2SP signed-note Ed25519 signatures."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from functools import lru_cache

from ..crypto.b64 import b64u
from ..crypto.keys import KeyPair, verify_signature_memo

DASH = "\u2014"
MAX_SIGNATURES = 100  # as Go's golang.org/x/mod/sumdb/note
_NAME = re.compile(r"[^\s+]+")  # a key name: non-empty, no spaces, no "+"
_SIZE = re.compile(r"0|[1-9][0-9]*")  # ASCII digits, no leading zeros
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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


def _b64(text: str) -> bytes | None:
    """Strict standard base64: only the one canonical text of its bytes (no spare bits, no stray characters)."""
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (ValueError, TypeError):
        return None
    return raw if binascii.b2a_base64(raw, newline=False).decode() == text else None


def _signatures(block: str) -> list[tuple[str, bytes]]:
    """(name, key id || signature) of each signature line; one malformed line spoils the note (signed-note)."""
    if not block:
        raise NoteError("a signed note has at least one signature")
    if not block.endswith("\n"):
        raise NoteError("a signed note ends with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a signed note has at most {MAX_SIGNATURES} signatures")
    out = []
    for line in lines:
        parts = line.split(" ")
        blob = _b64(parts[2]) if len(parts) == 3 else None
        if parts[0] != DASH or blob is None or len(blob) < 5 or not _NAME.fullmatch(parts[1]):
            raise NoteError("a signature line is malformed")
        out.append((parts[1], blob))
    return out


def _checkpoint(text: str) -> tuple[str, int, bytes]:
    """origin, tree size, root of a tlog-checkpoint body: those three lines, then any extension lines (C2SP
    tlog-checkpoint: each non-empty; a verifier that does not know them ignores them)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint body has three lines first: origin, tree size, root hash")
    for ext in lines[3:-1]:
        if not ext or _CONTROL.search(ext):
            raise NoteError("a checkpoint extension line is empty or has control characters")
    origin, size, root_b64 = lines[:3]
    if not origin or _CONTROL.search(origin):
        raise NoteError("the checkpoint origin is empty or has control characters")
    if not _SIZE.fullmatch(size) or (n := int(size)) >= 2**64:
        raise NoteError("the checkpoint tree size is not a decimal number without leading zeros")
    root = _b64(root_b64)
    if root is None or len(root) != 32:
        raise NoteError("the checkpoint root hash is not 32 bytes in base64")
    return origin, n, root


def _parse(note: str) -> tuple[tuple[str, int, bytes], tuple[tuple[str, bytes], ...], bytes]:
    """(checkpoint, signature lines, signed bytes) of a signed note, not yet verified."""
    text, sep, block = note.partition("\n\n")
    if not sep:
        raise NoteError("a signed note has a blank line before its signatures")
    text += "\n"
    return _checkpoint(text), tuple(_signatures(block)), text.encode()


# Parsed once per distinct text (errors are not kept), as jws.parse_shared does for status lists: every receipt
# of one batch carries the same checkpoint. Only the parse is shared; each caller still checks the signature.
MAX_CACHED = 8192  # a checkpoint note is a few hundred characters
_parse_cached = lru_cache(maxsize=64)(_parse)


def open_note(note: str, vkey: str, memo=None) -> tuple[str, int, bytes]:
    """Verify a signed checkpoint with a verifier key; return (origin, size, root). Signatures by other
    keys are ignored, but every signature line must be well-formed. `memo` (see verify_signature_memo)
    remembers the signature check: every certificate verified until the next batch shares one checkpoint."""
    if not isinstance(vkey, str):
        raise NoteError("malformed verifier key")
    name, kid, jwk = _verifier(vkey)
    checkpoint, signatures, signed = _parse_cached(note) if type(note) is str and len(note) <= MAX_CACHED \
        else _parse(note)
    for signer, blob in signatures:
        if signer == name and blob[:4] == kid and verify_signature_memo(jwk, blob[4:], signed, memo):
            return checkpoint
    raise NoteError("no valid signature by the log key")

"""Checking a receipt with nothing but the log's verifier key: checkpoint signature, then inclusion.

The receipt, the key and the token may all be hostile (they come from a request body or a bundle):
each member's type and size is checked before use, and any failure is a (False, reason) answer.
"""

from __future__ import annotations

import binascii

from ..domain import merkle
from .note import NoteError, open_note

MAX_INDEX = 2**63 - 1
MAX_PROOF = 64  # an RFC 9162 inclusion proof has at most log2(tree size) hashes
MAX_NOTE = 8192


class _Malformed(ValueError):
    pass


def _count(receipt: dict, name: str) -> int:
    v = receipt.get(name)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_INDEX:
        raise _Malformed(f"{name} must be a whole number from 0 to 2^63-1")
    return v


def _proof(receipt: dict) -> list[bytes]:
    hashes = receipt.get("inclusionProof")
    if not isinstance(hashes, list) or len(hashes) > MAX_PROOF:
        raise _Malformed(f"inclusionProof must be a list of at most {MAX_PROOF} hashes")
    out = []
    for h in hashes:
        try:
            raw = binascii.a2b_base64(h, strict_mode=True) if isinstance(h, str) and len(h) <= 64 else b""
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise _Malformed("each inclusionProof hash must be 32 bytes, base64")
        out.append(raw)
    return out


def check(token: str, receipt: object, vkey: object, memo=None) -> tuple[bool, str, int, bytes]:
    """(ok, detail, tree size, root) for the certificate JWS `token` against `receipt`; `memo` remembers the
    checkpoint's signature check (note.open_note)."""
    if not isinstance(receipt, dict) or not isinstance(vkey, str):
        return False, "no log receipt and log key to check inclusion", 0, b""
    try:
        note = receipt.get("checkpoint")
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise _Malformed(f"checkpoint must be a signed note of at most {MAX_NOTE} characters")
        index, claimed, proof = _count(receipt, "leafIndex"), _count(receipt, "treeSize"), _proof(receipt)
        leaf = merkle.leaf_hash(token.encode("utf-8"))
        origin, size, root = open_note(note, vkey[:MAX_NOTE], memo)
    except _Malformed as e:
        return False, f"the receipt is malformed: {e}", 0, b""
    except NoteError as e:
        return False, f"the receipt's checkpoint does not verify: {e}", 0, b""
    except (AttributeError, TypeError, ValueError):  # a token or key that is not text (e.g. lone surrogates)
        return False, "the receipt or the log key is malformed", 0, b""
    if claimed != size:
        return False, f"the receipt claims tree size {claimed}, its checkpoint says {size}", 0, b""
    if not merkle.verify_inclusion(leaf, index, size, proof, root):
        return False, f"the inclusion proof for index {index} does not lead to the signed root", 0, b""
    if not origin.isprintable() or len(origin) > 200:  # echoed to terminals and pages
        origin = repr(origin[:200])
    return True, f"included at index {index} of {origin} (tree size {size}, signed checkpoint)", size, root

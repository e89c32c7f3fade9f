"""Checking a receipt with nothing but the log's verifier key: checkpoint signature, then inclusion."""

from __future__ import annotations

import base64

from ..domain import merkle
from .note import NoteError, open_note


def check(token: str, receipt: object, vkey: object) -> tuple[bool, str, int, bytes]:
    """(ok, detail, tree size, root) for the certificate JWS `token` against `receipt`."""
    if not isinstance(receipt, dict) or not isinstance(vkey, str):
        return False, "no log receipt and log key to check inclusion", 0, b""
    try:
        origin, size, root = open_note(str(receipt.get("checkpoint", "")), vkey)
        index, claimed = int(receipt["leafIndex"]), int(receipt["treeSize"])
        proof = [base64.b64decode(h, validate=True) for h in receipt["inclusionProof"]]
    except NoteError as e:
        return False, f"the receipt's checkpoint does not verify: {e}", 0, b""
    except (KeyError, TypeError, ValueError):
        return False, "the receipt is malformed", 0, b""
    if claimed != size:
        return False, f"the receipt claims tree size {claimed}, its checkpoint says {size}", 0, b""
    leaf = merkle.leaf_hash(token.encode("utf-8") if isinstance(token, str) else b"")
    if not merkle.verify_inclusion(leaf, index, size, proof, root):
        return False, f"the inclusion proof for index {index} does not lead to the signed root", 0, b""
    return True, f"included at index {index} of {origin} (tree size {size}, signed checkpoint)", size, root

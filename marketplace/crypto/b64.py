from __future__ import annotations

import binascii

_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# the last character of a text whose length is 2 or 3 mod 4 carries 4 or 2 bits that encode nothing: a
# canonical encoder leaves them 0, and a text with any of them set is another text for the same bytes
_CANONICAL_LAST = {2: frozenset(c for i, c in enumerate(_ALPHABET) if i & 0b1111 == 0),
                   3: frozenset(c for i, c in enumerate(_ALPHABET) if i & 0b11 == 0)}


def b64u(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE).decode("ascii")


def unb64u(text: str) -> bytes:
    """Base64url without padding -> bytes, strictly: one text per byte string. A character outside the
    alphabet is refused, not skipped, and so are unused bits set in the last character; otherwise several
    texts would decode to one JWS signature and a changed token would still verify. str.replace is a fast
    scan when there is nothing to replace, unlike a byte translation, which copies every byte."""
    if not isinstance(text, str) or "=" in text or "+" in text or "/" in text:
        raise ValueError("not base64url without padding")
    tail = len(text) % 4
    if tail and (tail == 1 or text[-1] not in _CANONICAL_LAST[tail]):
        raise ValueError("not canonical base64url (its length or last character)")
    try:
        return binascii.a2b_base64(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                                   strict_mode=True)
    except binascii.Error:
        raise ValueError("not base64url without padding") from None

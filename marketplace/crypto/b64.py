from __future__ import annotations

import binascii

_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64u(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE).decode("ascii")


def unb64u(text: str) -> bytes:
    """Base64url without padding -> bytes, strictly: any character outside the alphabet is refused (a lax
    decoder would skip it, so two different texts would carry one signature). str.replace is a fast scan
    when there is nothing to replace, unlike a byte translation, which copies every byte."""
    if not isinstance(text, str) or "=" in text or "+" in text or "/" in text:
        raise ValueError("not base64url without padding")
    try:
        return binascii.a2b_base64(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                                   strict_mode=True)
    except binascii.Error:
        raise ValueError("not base64url without padding") from None

from __future__ import annotations

import binascii

_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64u(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE).decode("ascii")


def unb64u(text: str) -> bytes:
    """Base64url without padding -> bytes; what urlsafe_b64decode answers, without its per-call overhead."""
    if not isinstance(text, str) or "=" in text or "+" in text or "/" in text or " " in text or "\n" in text:
        raise ValueError("not base64url without padding")
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("string argument should contain only ASCII characters") from None
    return binascii.a2b_base64(data.translate(_TO_STANDARD) + b"=" * (-len(data) % 4))

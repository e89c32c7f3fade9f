from __future__ import annotations

import base64
import binascii

_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    """Base64url without padding -> bytes; what urlsafe_b64decode answers, without its per-call overhead."""
    if not isinstance(text, str) or "=" in text or "+" in text or "/" in text or " " in text or "\n" in text:
        raise ValueError("not base64url without padding")
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("string argument should contain only ASCII characters") from None
    return binascii.a2b_base64(data.translate(_TO_STANDARD) + b"=" * (-len(data) % 4))

"""What a foreign caller must never see in an answer: a compact JWS (a certificate, an attestation, a status list).

Looking for "eyJ" alone (how every JWS header starts: base64url of '{"') also finds it by chance in the random
base64 of a CSRF token or a nonce (a 27-character random signature holds it about once in 10,000); this finds
only a real JWS: three base64url segments whose first decodes to a JSON object naming an "alg"."""

from __future__ import annotations

import base64
import json
import re

_COMPACT = re.compile(r"(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]*)\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")


def compact_jws_in(text: str) -> list[str]:
    """The start of every compact JWS in `text`."""
    found = []
    for m in _COMPACT.finditer(text):
        head = m.group(1)
        try:
            header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        except ValueError:  # not base64url, or not JSON (binascii.Error and UnicodeDecodeError are ValueErrors)
            continue
        if isinstance(header, dict) and "alg" in header:
            found.append(m.group(0)[:40] + "...")
    return found

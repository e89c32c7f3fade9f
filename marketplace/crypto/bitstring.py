"""W3C Bitstring Status List encoding: GZIP, then multibase base64url without padding ('u' prefix).
Bit 0 is the most significant bit of the first byte."""

from __future__ import annotations

import gzip
import threading

from .b64 import b64u, unb64u


def encode(bits: bytes) -> str:
    return "u" + b64u(gzip.compress(bits, mtime=0))


def decode(encoded: str) -> bytes:
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url ('u' prefix)")
    bits = _DECODED.get(encoded)
    if bits is None:
        bits = gzip.decompress(unb64u(encoded[1:]))
        if len(bits) <= MAX_CACHED_BITS:  # a batch shares a few lists; a hostile huge one is not kept
            with _LOCK:  # threads of one worker share the cache
                if len(_DECODED) >= MAX_CACHED_LISTS:
                    _DECODED.pop(next(iter(_DECODED)))
                _DECODED[encoded] = bits
    return bits


MAX_CACHED_BITS = 1 << 18  # bytes of decoded list (2 Mi entries); the service's lists are 16 KiB
MAX_CACHED_LISTS = 32  # keyed by the encoded text itself, so an entry is never stale (a new bit: a new key)
_LOCK = threading.Lock()
_DECODED: dict[str, bytes] = {}  # encodedList -> decoded bits, oldest first (bytes are immutable)


def get(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytearray, index: int) -> None:
    bits[index // 8] |= 0x80 >> (index % 8)

"""W3C Bitstring Status List encoding: GZIP, then multibase base64url without padding ('u' prefix).
Bit 0 is the most significant bit of the first byte."""

from __future__ import annotations

import gzip
import threading
import zlib

from .b64 import b64u, unb64u


def encode(bits: bytes) -> str:
    return "u" + b64u(gzip.compress(bits, mtime=0))


def decode(encoded: str) -> bytes:
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url ('u' prefix)")
    bits = _DECODED.get(encoded)
    if bits is None:
        bits = _gunzip(unb64u(encoded[1:]))
        if len(bits) <= MAX_CACHED_BITS:  # a batch shares a few lists; a hostile huge one is not kept
            with _LOCK:  # threads of one worker share the cache
                if len(_DECODED) >= MAX_CACHED_LISTS:
                    _DECODED.pop(next(iter(_DECODED)))
                _DECODED[encoded] = bits
    return bits


MAX_LIST_BYTES = 1 << 24  # 128 Mi entries: far beyond any real list, and a bound on what a hostile one costs
MAX_CACHED_BITS = 1 << 18  # bytes of decoded list (2 Mi entries); the service's lists are 16 KiB
MAX_CACHED_LISTS = 32  # keyed by the encoded text itself, so an entry is never stale (a new bit: a new key)
_LOCK = threading.Lock()
_DECODED: dict[str, bytes] = {}  # encodedList -> decoded bits, oldest first (bytes are immutable)


def get(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytearray, index: int) -> None:
    bits[index // 8] |= 0x80 >> (index % 8)


def _gunzip(data: bytes) -> bytes:
    """One gzip member, decompressed to at most MAX_LIST_BYTES: a few KiB of gzip can claim gigabytes, and
    a list given for offline verification is untrusted until its signature is checked against a pinned key."""
    z = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    bits = z.decompress(data, MAX_LIST_BYTES + 1)  # below the limit, every input byte was consumed
    if len(bits) > MAX_LIST_BYTES:
        raise ValueError(f"encodedList decompresses to more than {MAX_LIST_BYTES} bytes")
    if not z.eof:
        raise ValueError("encodedList is a truncated gzip stream")
    if z.unused_data:
        raise ValueError("encodedList has data after its gzip stream")
    return bits

"""W3C Bitstring Status List encoding: GZIP, then multibase base64url without padding ('u' prefix).
Bit 0 is the most significant bit of the first byte."""

from __future__ import annotations

import gzip

from .b64 import b64u, unb64u


def encode(bits: bytes) -> str:
    return "u" + b64u(gzip.compress(bits, mtime=0))


def decode(encoded: str) -> bytes:
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url ('u' prefix)")
    return gzip.decompress(unb64u(encoded[1:]))


def get(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytearray, index: int) -> None:
    bits[index // 8] |= 0x80 >> (index % 8)

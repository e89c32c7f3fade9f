"""Secrets at rest: AES-256-GCM under the key-encryption key, bound to what the secret belongs to.

The same wrapping as private keys (`keys.KeyPair.wrap`), for secrets that are not keys, such as a webhook
subscription's signing secret: the service must read it back to sign, so it is encrypted, not hashed.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .keys import KeyError_, _kek


def seal(plaintext: bytes, kek: bytes, aad: bytes) -> bytes:
    """nonce (12 bytes) || AES-256-GCM(kek) ciphertext and tag of `plaintext`, authenticated with `aad`."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_kek(kek)).encrypt(nonce, plaintext, aad)


def unseal(blob: bytes, kek: bytes, aad: bytes) -> bytes:
    """The plaintext of `seal`; KeyError_ when the kek, the aad or the blob is not the one sealed with."""
    try:
        return AESGCM(_kek(kek)).decrypt(blob[:12], blob[12:], aad)
    except (InvalidTag, ValueError):
        raise KeyError_("the stored secret cannot be decrypted with this key-encryption key") from None

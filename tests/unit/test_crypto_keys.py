"""Public keys: small-order and non-canonical Ed25519 encodings are refused; real keys work."""

import pytest

from marketplace.crypto.b64 import b64u
from marketplace.crypto.keys import KeyError_, KeyPair, public_key, verify_signature

P = 2**255 - 19
IDENTITY = bytes([1]) + bytes(31)


def jwk(raw: bytes) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}


SMALL_ORDER = {
    "identity": IDENTITY,
    "order 2 (y = p - 1)": (P - 1).to_bytes(32, "little"),
    "order 4 (y = 0)": bytes(32),
    "order 4, other sign": bytes(31) + b"\x80",
    # order 8, from libsodium's blocklist
    "order 8": bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    "order 8, other": bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
}
NON_CANONICAL = {
    "y = p + 1 (the identity again)": (P + 1).to_bytes(32, "little"),
    "y = p": P.to_bytes(32, "little"),
    "x = 0 with the sign bit set": bytes([1]) + bytes(30) + b"\x80",
}


@pytest.mark.parametrize("raw", list(SMALL_ORDER.values()) + list(NON_CANONICAL.values()),
                         ids=list(SMALL_ORDER) + list(NON_CANONICAL))
def test_unsafe_keys_are_refused(raw):
    with pytest.raises(KeyError_):
        public_key(jwk(raw))


def test_identity_key_does_not_verify_a_forgery():
    forged = IDENTITY + bytes(32)  # R = identity, S = 0: "valid" for any message under the identity key
    assert not verify_signature(jwk(IDENTITY), forged, b"anything")
    assert not verify_signature(jwk((P + 1).to_bytes(32, "little")), forged, b"anything")


def test_real_keys_still_verify():
    for _ in range(50):
        kp = KeyPair.generate()
        assert verify_signature(kp.public_jwk, kp.sign(b"terms"), b"terms")
        assert not verify_signature(kp.public_jwk, kp.sign(b"terms"), b"other")

"""jws.parse refuses a malformed JWS with the first reason in a fixed order (the parts, the header's
decoding, the payload's, the signature's, the JSON types, the header's content, the signature's length),
whichever faster path finds it: the verify output quotes these reasons."""

from __future__ import annotations

import pytest

from marketplace.crypto import jws
from marketplace.crypto.b64 import b64u
from marketplace.crypto.keys import KeyPair

SIG = b64u(b"\x01" * 64)
PAYLOAD = b64u(b'{"a":1}')


def h(text: str) -> str:
    return b64u(text.encode())


def reason(token: object) -> str:
    with pytest.raises(jws.JWSError) as e:
        jws.parse(token)
    return str(e.value)


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "...", f"{h('{}')}.{PAYLOAD}.{SIG}.", ".x"])
def test_three_parts(token):
    assert reason(token) == "a compact JWS has three dot-separated parts"


def test_each_part_is_refused_in_order():
    bad_alg = h('{"alg":"none"}')
    assert reason(f"!.{PAYLOAD}.{SIG}") == "the header is not base64url"
    assert reason(f"{bad_alg}.!.{SIG}") == "the payload is not base64url"
    assert reason(f"{bad_alg}.{h('[1')}.{SIG}").startswith("the payload is not acceptable JSON")
    assert reason(f"{bad_alg}.{PAYLOAD}.!") == "the signature is not base64url"
    assert reason(f"{bad_alg}.{h('[]')}.{SIG}") == "header and payload must be JSON objects"
    assert reason(f"{h('[]')}.{PAYLOAD}.{SIG}") == "header and payload must be JSON objects"
    assert reason(f"{bad_alg}.{PAYLOAD}.{b64u(b'x')}") == "algorithm 'none' is not accepted (only EdDSA)"
    crit = h('{"alg":"EdDSA","crit":["b64"],"kid":1}')
    assert reason(f"{crit}.{PAYLOAD}.{SIG}") == "critical header parameters are not supported"
    kid = h('{"alg":"EdDSA","kid":"a\\u0007b"}')
    assert reason(f"{kid}.{PAYLOAD}.{SIG}") == \
        "header kid must be a short string without control characters, not 'a\\x07b'"
    typ = h('{"alg":"EdDSA","typ":7}')
    assert reason(f"{typ}.{PAYLOAD}.{SIG}") == "header typ must be a short string without control characters, not 7"
    eddsa = h('{"alg":"EdDSA"}')
    assert reason(f"{eddsa}.{PAYLOAD}.{b64u(b'x')}") == "an Ed25519 signature is 64 bytes"


def test_a_header_shared_by_many_tokens_is_handed_out_as_a_copy():
    key = KeyPair.generate()
    first, second = jws.parse(jws.sign({"n": 1}, key, "vc+jwt")), jws.parse(jws.sign({"n": 2}, key, "vc+jwt"))
    first.header["typ"] = "changed"
    assert second.header["typ"] == "vc+jwt" and jws.parse(jws.sign({"n": 3}, key, "vc+jwt")).header["typ"] == "vc+jwt"
    assert (first.payload, second.payload) == ({"n": 1}, {"n": 2})
    assert second.signing_input == jws.sign({"n": 2}, key, "vc+jwt").rsplit(".", 1)[0].encode()

"""The verifier's fast paths (issue 15) answer exactly what the slow ones do.

- schema.well_formed() is True only when schema.problems() finds nothing (it may say False more often:
  then problems() has the last word), for every path of the certificate set to every hostile value;
- jsontext.loads() skips its lone-surrogate scan only for strict UTF-8 bytes, and refuses the same texts;
- a signature memo answers what verify_signature() answers, and never for a key that is not a plain public
  Ed25519 JWK.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.crypto import jws
from marketplace.crypto.keys import KeyPair, verify_signature, verify_signature_memo
from marketplace.domain import jsontext
from marketplace.verify import schema
from marketplace.verify.core import verify
from tests.unit.certs import NOW, World
from tests.unit.hostile import DELETE, SHAPES, mutate, paths

HOSTILE = [DELETE, None, True, 0, 7, Decimal("1.5"), "", " ", "x", "0", "01", "1" * 32, "\x00", "a\x00b", "\x07",
           "\u2028", "\u00a0", "\ud800", "sha256:" + "0" * 64, "2027-02-30", "2027-01-01T00:00:00Z",
           "2027-13-01T00:00:00Z", "https://x.example", "JPY", "jpy", "x" * 201, "x" * 2049, [], ["x"], {}, {"a": 1},
           "urn:uuid:c-1", "BitstringStatusListEntry", "revocation", "\uff11"]


def agree(cred) -> None:
    found = schema.problems(cred)
    if schema.well_formed(cred):
        assert not found, found
    if found:
        assert not schema.well_formed(cred)


def test_the_well_formed_certificate_takes_the_fast_path():
    cred = World().credential
    assert schema.well_formed(cred) and not schema.problems(cred)


def test_every_path_with_every_hostile_value():
    base = World().credential
    for path in paths(base):
        for value in HOSTILE:
            agree(mutate(base, path, value))
    for path, value, _ in SHAPES:
        agree(mutate(base, path, value))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_values_at_random_paths(data):
    base = World().credential
    every = paths(base)
    cred = base
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(every))
        value = data.draw(st.sampled_from(HOSTILE) | st.text(max_size=8) | st.integers())
        try:
            cred = mutate(cred, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier step replaced a container on this path
    agree(cred)


def test_non_printable_text_without_controls_falls_back_and_is_accepted():
    cred = mutate(World().credential, ("credentialSubject", "id"), "urn:x\u2028y")
    assert not schema.well_formed(cred) and not schema.problems(cred)


@pytest.mark.parametrize("text", [b'{"a":"\xed\xa0\x80"}', '{"a":"\ud800"}', '{"a":"\\ud800"}', b'{"a":"\\udc00x"}',
                                  b'{"a":NaN}', b'[' * 65 + b']' * 65, b'{"a":1e999}', "\ufeff{}", b"\xef\xbb\xbf{}"])
def test_jsontext_refuses_the_same_texts_as_str_or_bytes(text):
    with pytest.raises(jsontext.JSONTextError):
        jsontext.loads(text)
    if isinstance(text, bytes):
        try:
            as_str = text.decode("utf-8")
        except UnicodeDecodeError:
            return
        with pytest.raises(jsontext.JSONTextError):
            jsontext.loads(as_str)


def test_jsontext_parses_bytes_and_str_alike():
    doc = {"a": ["\u00e9\U0001f600", "\\ud83d\\ude00"], "b": {"c": None}, "n": 1, "d": Decimal("1.25")}
    text = json.dumps(doc, ensure_ascii=False, default=str)
    assert jsontext.loads(text) == jsontext.loads(text.encode()) == json.loads(text, parse_float=Decimal)
    assert jsontext.loads(b'"\\ud83d\\ude00"') == "\U0001f600"


class Memo(dict):
    def put(self, key, value):
        self[key] = value
        return value


def test_signature_memo_answers_what_a_fresh_check_answers():
    key, other = KeyPair.generate(), KeyPair.generate()
    data, sig = b"signed bytes", key.sign(b"signed bytes")
    memo = Memo()
    jwk = key.public_jwk
    for _ in range(2):
        assert verify_signature_memo(jwk, sig, data, memo) is True
        assert verify_signature_memo(other.public_jwk, sig, data, memo) is False
        assert verify_signature_memo(jwk, sig, data + b"x", memo) is False
    assert len(memo) == 3
    # a private JWK, a non-OKP key or an x that is not text is checked afresh, never remembered
    for odd in ({**jwk, "d": "AAAA"}, {**jwk, "kty": "EC"}, {**jwk, "x": ["a"]}, "not a jwk"):
        assert verify_signature_memo(odd, sig, data, memo) == verify_signature(odd, sig, data)
    assert len(memo) == 3


def test_online_memo_is_never_used_offline_and_gives_the_same_answers():
    from marketplace.verify.core import Online

    w = World()
    token, jwks, ijwks = w.token(), w.jwks(), w.insurer_jwks()
    memo = Memo()
    for status in (w.status_list(), w.status_list(revoked=True), w.status_list()):
        plain = verify(token, jwks, ijwks, status, now=NOW, receipt=w.receipt(token), log_key=w.log_key)
        remembered = verify(token, jwks, ijwks, status, now=NOW, online=Online(signatures=memo),
                            receipt=w.receipt(token))
        by_name = {c["name"]: c for c in remembered.checks}
        for check in plain.checks:
            if check["name"] != "log_inclusion":  # online without a log callback: no log key given
                assert by_name[check["name"]] == check
    assert memo  # the status lists' and attestations' checks were remembered
    assert not any(k[2] == jws.parse(token).signing_input for k in memo)  # never the certificate's own

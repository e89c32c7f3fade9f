"""Tamper suite: every alteration is caught by the right named check (verifier core, no network)."""

import base64
import json

import pytest

from marketplace.crypto import jws
from marketplace.crypto.keys import KeyPair
from marketplace.verify.core import verify

from .certs import NOW, World


@pytest.fixture(scope="module")
def w():
    return World()


def run(w, token, status_list=None, now=NOW, jwks=None):
    res = verify(token, jwks or w.jwks(), w.insurer_jwks(), status_list or w.status_list(), now=now,
                 receipt=w.receipt(token), log_key=w.log_key)
    return res, {c["name"]: c for c in res.checks}


def failing(checks):
    return sorted(n for n, c in checks.items() if c["ok"] is False)


def test_the_untouched_certificate_is_valid(w):
    res, checks = run(w, w.token())
    assert res.valid, res.checks
    assert checks["log_inclusion"]["ok"] is True and checks["policies_current"]["ok"] is None


def test_log_receipt_must_hold_this_certificate(w):
    token = w.token()
    res = verify(token, w.jwks(), w.insurer_jwks(), w.status_list(), now=NOW, receipt=w.receipt(token + "x"),
                 log_key=w.log_key)
    assert [c["name"] for c in res.checks if c["ok"] is False] == ["log_inclusion"]
    res = verify(token, w.jwks(), w.insurer_jwks(), w.status_list(), now=NOW)
    assert [c["name"] for c in res.checks if c["ok"] is False] == ["log_inclusion"]
    other = World()
    res = verify(token, w.jwks(), w.insurer_jwks(), w.status_list(), now=NOW, receipt=w.receipt(token),
                 log_key=other.log_key)
    assert [c["name"] for c in res.checks if c["ok"] is False] == ["log_inclusion"]


def test_every_payload_character_flipped_is_caught(w):
    token = w.token()
    head, payload, sig = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(payload):
        other = alphabet[(alphabet.index(ch) + 1) % 64]
        bad = f"{head}.{payload[:i]}{other}{payload[i + 1:]}.{sig}"
        res, checks = run(w, bad)
        assert not res.valid and checks["signature"]["ok"] is False, i


def _raw(header: dict, payload: dict, sig: bytes) -> str:
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return ".".join([enc(json.dumps(header).encode()), enc(json.dumps(payload).encode()), enc(sig)])


def test_header_attacks(w):
    import hashlib
    import hmac

    # alg none, empty signature
    res, checks = run(w, _raw({"alg": "none", "typ": "vc+jwt"}, w.credential, b""))
    assert not res.valid and "not accepted" in checks["signature"]["detail"]
    # HS256 "signed" with the public key as HMAC secret
    head = {"alg": "HS256", "kid": w.platform.kid, "typ": "vc+jwt"}
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    si = enc(json.dumps(head).encode()) + "." + enc(json.dumps(w.credential).encode())
    mac = hmac.new(json.dumps(w.platform.public_jwk).encode(), si.encode(), hashlib.sha256).digest()
    res, checks = run(w, si + "." + enc(mac))
    assert not res.valid and "HS256" in checks["signature"]["detail"]
    # wrong typ, same key
    res, checks = run(w, w.token(typ="JWT"))
    assert not res.valid and "typ" in checks["signature"]["detail"]
    # swap the header of a validly signed token for one with another kid
    token = w.token()
    other = jws.sign(w.credential, KeyPair.generate(), "vc+jwt")
    res, checks = run(w, other.split(".")[0] + "." + ".".join(token.split(".")[1:]))
    assert not res.valid
    assert checks["key_status"]["ok"] is False and checks["signature"]["ok"] is False


def test_foreign_key_resigning_is_caught(w):
    foreign = KeyPair.generate()
    res, checks = run(w, w.token(key=foreign))
    assert not res.valid and checks["signature"]["ok"] is False and checks["key_status"]["ok"] is False


def test_edited_amounts_resigned_by_the_platform_key_are_caught(w):
    cred = w.edited()
    cred["credentialSubject"]["insuranceOffset"] = "400"
    cred["credentialSubject"]["netReserveRequired"] = "600"
    _res, checks = run(w, w.token(cred))
    assert failing(checks) == ["amounts"]
    cred = w.edited()
    cred["credentialSubject"]["netReserveRequired"] = "100"
    assert failing(run(w, w.token(cred))[1]) == ["amounts"]
    cred = w.edited()
    cred["credentialSubject"]["obligation"] = "-5"
    assert failing(run(w, w.token(cred))[1]) == ["amounts"]


def test_attestation_swapped_between_policies_is_caught(w):
    cred = w.edited()
    cov = cred["credentialSubject"]["coverage"]
    cov[0]["attestation"], cov[1]["attestation"] = cov[1]["attestation"], cov[0]["attestation"]
    _res, checks = run(w, w.token(cred))
    assert failing(checks) == ["insurer_attestations"]
    assert "policyNumber" in checks["insurer_attestations"]["detail"]


def test_allocation_beyond_attested_limit_and_forged_attestation(w):
    cred = w.edited()
    cred["credentialSubject"]["coverage"][0]["allocated"] = "501"
    assert failing(run(w, w.token(cred))[1]) == ["insurer_attestations"]
    from .certs import attestation

    cred = w.edited()
    cred["credentialSubject"]["coverage"][0]["attestation"] = attestation(KeyPair.generate(), "P-1", "500")
    assert failing(run(w, w.token(cred))[1]) == ["insurer_attestations"]


def test_attestation_by_another_insurers_key_is_caught(w):
    from .certs import INSURER, attestation

    other_insurer = KeyPair.generate()
    cred = w.edited()
    cred["credentialSubject"]["coverage"][0]["attestation"] = attestation(other_insurer, "P-1", "500")
    token = w.token(cred)
    both = {**w.insurer_jwks(), "urn:marketplace:insurer:other": {"keys": [other_insurer.public_jwk]}}
    res = verify(token, w.jwks(), both, w.status_list(), now=NOW, receipt=w.receipt(token), log_key=w.log_key)
    checks = {c["name"]: c for c in res.checks}
    assert failing(checks) == ["insurer_attestations"]
    assert f"insurer {INSURER}" in checks["insurer_attestations"]["detail"]


def test_revoked_expired_and_not_yet_valid(w):
    _res, checks = run(w, w.token(), status_list=w.status_list(revoked=True))
    assert failing(checks) == ["revocation"] and "revoked" in checks["revocation"]["detail"]
    from datetime import UTC, datetime

    assert failing(run(w, w.token(), now=datetime(2027, 4, 1, tzinfo=UTC))[1]) == ["validity_period"]
    _res, checks = run(w, w.token(), now=datetime(2026, 12, 31, tzinfo=UTC))
    assert failing(checks) == ["validity_period"] and "not yet valid" in checks["validity_period"]["detail"]


def test_status_list_must_be_the_platforms_and_the_named_one(w):
    foreign = jws.sign(jws.parse(w.status_list()).payload, KeyPair.generate(), "vc+jwt")
    assert failing(run(w, w.token(), status_list=foreign)[1]) == ["revocation"]
    cred = w.edited()
    cred["credentialStatus"]["statusListCredential"] = "https://elsewhere.example/list"
    assert failing(run(w, w.token(cred))[1]) == ["revocation"]


def test_retired_platform_key_still_verifies(w):
    res, checks = run(w, w.token(), jwks=w.jwks(status="retired"))
    assert res.valid and "retired" in checks["key_status"]["detail"]


@pytest.mark.parametrize("garbage", [None, 7, "", "a.b", "a.b.c", "....", "x" * 300_000, {"a": 1},
                                     "eyJhbGciOiJFZERTQSJ9.e30", "\u0000.\u0000.\u0000"])
def test_garbage_is_invalid_with_a_reason(w, garbage):
    res, checks = run(w, garbage)
    assert not res.valid and checks["signature"]["ok"] is False and checks["signature"]["detail"]
    assert len(res.checks) == 8


@pytest.mark.parametrize("junk", ["*", "\t", "\r", "!", "~", "%"])
def test_a_character_outside_base64url_is_refused_not_skipped(w, junk):
    """A lax base64 decoder skips such characters (four of them keep the padding right), so the altered
    signature would decode to the real one."""
    token, junk = w.token(), junk * 4
    head, payload, sig = token.split(".")
    for part, altered in (("payload", f"{head}.{payload[:40]}{junk}{payload[40:]}.{sig}"),
                          ("signature", f"{head}.{payload}.{sig[:20]}{junk}{sig[20:]}")):
        res = verify(altered, w.jwks(), w.insurer_jwks(), w.status_list(), now=NOW, receipt=w.receipt(altered),
                     log_key=w.log_key)
        assert not res.valid, (part, junk)
        assert res.checks[0]["name"] == "signature" and res.checks[0]["ok"] is False, res.checks[0]


def test_a_receipt_hash_or_checkpoint_signature_with_junk_is_refused(w):
    token = w.token()
    receipt = w.receipt(token)
    text, _, sig_line = receipt["checkpoint"].partition("\n\n")
    dash, name, blob = sig_line.rstrip("\n").split(" ")
    bad_note = f"{text}\n\n{dash} {name} {blob[:10]}*{blob[10:]}\n"
    res = verify(token, w.jwks(), w.insurer_jwks(), w.status_list(), now=NOW,
                 receipt={**receipt, "checkpoint": bad_note}, log_key=w.log_key)
    log = next(c for c in res.checks if c["name"] == "log_inclusion")
    assert log["ok"] is False and "does not verify" in log["detail"], log
    res = verify(token, w.jwks(), w.insurer_jwks(), w.status_list(), now=NOW,
                 receipt={**receipt, "inclusionProof": ["A" * 21 + "*" + "A" * 21 + "="]}, log_key=w.log_key)
    log = next(c for c in res.checks if c["name"] == "log_inclusion")
    assert log["ok"] is False and "malformed" in log["detail"], log


def test_a_signature_whose_unused_last_bits_are_changed_is_refused(w):
    """86 base64url characters carry 516 bits for a 64-byte signature: the last character's 4 spare bits
    must be 0, or a token changed there would decode to the same signature and still verify."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    token = w.token()
    head, payload, sig = token.split(".")
    last = alphabet.index(sig[-1])
    assert last & 0b1111 == 0  # what a canonical encoder writes
    for spare in range(1, 16):
        altered = f"{head}.{payload}.{sig[:-1]}{alphabet[last | spare]}"
        res = verify(altered, w.jwks(), w.insurer_jwks(), w.status_list(), now=NOW, receipt=w.receipt(altered),
                     log_key=w.log_key)
        assert not res.valid and res.checks[0]["ok"] is False, (spare, res.checks[0])
        assert "base64url" in res.checks[0]["detail"]


@pytest.mark.parametrize("typ", ["application/vc+jwt", "VC+JWT", "Application/VC+JWT"])
def test_typ_is_a_media_type(w, typ):
    # RFC 7515 4.1.9: "application/" may be omitted, and media types are case-insensitive
    status_list = jws.sign(jws.parse(w.status_list()).payload, w.platform, typ)
    res, _checks = run(w, w.token(typ=typ), status_list=status_list)
    assert res.valid, res.checks


@pytest.mark.parametrize("typ", ["text/vc+jwt", "application/application/vc+jwt", "vc+jwt; x=1"])
def test_other_media_types_are_refused(w, typ):
    assert failing(run(w, w.token(typ=typ))[1]) == ["signature"]
    status_list = jws.sign(jws.parse(w.status_list()).payload, w.platform, typ)
    checks = run(w, w.token(), status_list=status_list)[1]
    assert failing(checks) == ["revocation"] and "typ" in checks["revocation"]["detail"]


@pytest.mark.parametrize(("typ", "ok"), [("vc+jwt", False), ("application/vc+jwt", False), ("JOSE", False),
                                         (None, True), ("JWT", True)])
def test_an_attestation_typed_as_another_document_is_refused(w, typ, ok):
    # a JWS the insurer signed over the same fields for another purpose is not an attestation (RFC 8725 3.11);
    # the generic JWT (what JOSE libraries write by default) or no typ at all are accepted
    cred = w.edited()
    entry = cred["credentialSubject"]["coverage"][0]
    body = jws.parse(entry["attestation"]).payload
    header = {"alg": "EdDSA", "kid": w.insurer.kid} | ({"typ": typ} if typ else {})
    si = _raw(header, body, b"").rsplit(".", 1)[0]
    entry["attestation"] = si + "." + base64.urlsafe_b64encode(w.insurer.sign(si.encode())).rstrip(b"=").decode()
    _res, checks = run(w, w.token(cred))
    if ok:
        assert failing(checks) == [], checks
    else:
        assert failing(checks) == ["insurer_attestations"] and "typ" in checks["insurer_attestations"]["detail"]


def test_attestation_typ_is_a_media_type(w):
    cred = w.edited()
    entry = cred["credentialSubject"]["coverage"][0]
    entry["attestation"] = jws.sign(jws.parse(entry["attestation"]).payload, w.insurer, "application/Attestation+JWT")
    assert run(w, w.token(cred))[0].valid


def test_an_insurer_whose_keys_were_not_given_is_named_as_such(w):
    token = w.token()
    res = verify(token, w.jwks(), {}, w.status_list(), now=NOW, receipt=w.receipt(token), log_key=w.log_key)
    att = next(c for c in res.checks if c["name"] == "insurer_attestations")
    assert att["ok"] is False and "no keys of insurer 'urn:marketplace:insurer:ins-1' were given" in att["detail"]

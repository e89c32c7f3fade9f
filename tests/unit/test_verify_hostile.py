"""The verifier core on hostile input: it always answers a Result naming the failing check, never raises,
and is never valid unless the signature is; status lists that are stale or unverifiable never pass."""

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from marketplace.crypto import jws
from marketplace.crypto.keys import KeyPair
from marketplace.domain.jsontext import has_lone_surrogate
from marketplace.tlog import receipts
from marketplace.verify import schema
from marketplace.verify.core import CHECKS, verify

from .certs import LIST, NOW, World
from .hostile import DELETE, SHAPES, deep, dotted, json_values, mutate, paths, raw_token

W = World()
KEEP = settings(max_examples=int(os.environ.get("VERIFY_FUZZ_EXAMPLES", "150")),  # more: a longer run
                deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(token, status_list=None, now=NOW, **kw):
    loggable = isinstance(token, str) and token.isascii()
    res = verify(token, W.jwks(), W.insurer_jwks(), status_list or W.status_list(), now=now,
                 receipt=W.receipt(token.strip()) if loggable else W.receipt("x"), log_key=W.log_key, **kw)
    return res, {c["name"]: c for c in res.checks}


def well_formed(res) -> None:
    """The shape every answer has, whatever the input: 8 named checks, a verdict and text, JSON-safe."""
    assert [c["name"] for c in res.checks] == list(CHECKS)
    assert all(c["ok"] in (True, False, None) and isinstance(c["detail"], str) and c["detail"] for c in res.checks)
    json.dumps(res.as_dict())  # what the API and the CLI print
    signature_ok = res.checks[0]["ok"] is True
    assert signature_ok or not res.valid  # never valid unless the signature is


# -- properties ---------------------------------------------------------------------------------------

@KEEP
@given(st.one_of(st.binary(max_size=300).map(lambda b: b.decode("latin-1")), st.text(max_size=300), json_values,
                 st.lists(st.text("ABCDEFabcdef0123456789-_=.", max_size=90), min_size=3, max_size=3)
                 .map(".".join)))
@example("\ud800.\udfff.x")
@example("." * 10_000)
def test_any_token_gives_a_result(token):
    res, _ = run(token)
    well_formed(res)
    assert not res.valid


@KEEP
@given(header=st.one_of(json_values, st.fixed_dictionaries(
    {"alg": st.just("EdDSA")}, optional={"kid": st.one_of(st.just(W.platform.kid), json_values),
                                          "typ": st.one_of(st.just("vc+jwt"), json_values)})),
       payload=json_values, signed=st.booleans())
def test_any_header_and_payload_give_a_result(header, payload, signed):
    res, _ = run(raw_token(header, payload, W.platform if signed else None))
    well_formed(res)
    assert not res.valid


CERT_PATHS = paths(W.credential)
HEADER = {"alg": "EdDSA", "kid": W.platform.kid, "typ": "vc+jwt"}


def _refused_number(value) -> bool:
    """A number the service's JSON parser refuses (its exponent is out of the accepted range)."""
    import json as _json

    from marketplace.domain.jsontext import JSONTextError, loads

    try:
        loads(_json.dumps(value))
    except JSONTextError as e:
        return "out of range" in str(e)
    except Exception:
        return False
    return False


@KEEP
@given(path=st.sampled_from(CERT_PATHS), value=st.one_of(st.just(DELETE), json_values))
def test_a_real_certificate_with_any_field_replaced_gives_a_result(path, value):
    cred = mutate(W.credential, path, value)
    token = raw_token(HEADER, cred, W.platform)  # re-signed by the platform key: every check runs on it
    res, checks = run(token)
    well_formed(res)
    # refused when read, before any check: a lone surrogate, or a number such as 2.2250738585e-313 (the safe JSON
    # parser bounds exponents, domain/jsontext); with both, whichever the parser meets first is the reason
    surrogate, number = has_lone_surrogate(cred), _refused_number(cred)
    if surrogate or number:
        assert all(c["ok"] is False for c in res.checks)
        detail = checks["signature"]["detail"]
        assert (surrogate and "surrogate" in detail) or \
            (number and "not acceptable JSON" in detail and "out of range" in detail), detail
        return
    for name, found in schema.problems(cred).items():
        assert checks[name]["ok"] is False and schema.summary(found) in checks[name]["detail"]


@KEEP
@given(json_values)
def test_any_receipt_or_log_key_gives_a_verdict(value):
    token = W.token()
    for receipt, key in ((value, W.log_key), ({**W.receipt(token), "inclusionProof": value}, W.log_key),
                         ({**W.receipt(token), "leafIndex": value}, W.log_key), (W.receipt(token), value)):
        ok, detail, _, _ = receipts.check(token, receipt, key)
        assert isinstance(ok, bool) and detail


@KEEP
@given(json_values)
def test_any_jwks_and_status_list_give_a_result(value):
    token = W.token()
    for jwks, insurers, status in ((value, W.insurer_jwks(), W.status_list()), (W.jwks(), value, value),
                                   (W.jwks(), {"urn:marketplace:insurer:ins-1": value}, W.status_list())):
        res = verify(token, jwks, insurers, status, now=NOW)
        well_formed(res)


# -- examples: each hostile shape fails the check that relies on the field, naming the field ---------------

@pytest.mark.parametrize(("path", "value", "check"), SHAPES, ids=[f"{dotted(p)}={v!r}" for p, v, _ in SHAPES])
def test_each_hostile_shape_fails_its_check(path, value, check):
    res, checks = run(W.token(mutate(W.credential, path, value)))
    well_formed(res)
    assert not res.valid and checks[check]["ok"] is False
    assert dotted(path) in checks[check]["detail"], checks[check]["detail"]


def test_a_missing_field_is_named():
    res, checks = run(W.token(mutate(W.credential, ("credentialSubject", "coverage"), DELETE)))
    assert checks["amounts"]["detail"] == "malformed certificate: credentialSubject.coverage is missing"
    assert checks["signature"]["ok"] is True and not res.valid


@pytest.mark.parametrize("kid", [["a"], {"k": 1}, 5, True, "", "k\u0000", "x" * 300])
def test_a_kid_that_is_not_a_string_is_refused(kid):
    res, checks = run(raw_token({"alg": "EdDSA", "kid": kid, "typ": "vc+jwt"}, W.credential, W.platform))
    well_formed(res)
    assert checks["signature"]["ok"] is False and "header kid must be a short string" in checks["signature"]["detail"]


def test_a_payload_nested_5000_deep_is_refused_before_parsing():
    res, checks = run(raw_token({"alg": "EdDSA", "kid": W.platform.kid, "typ": "vc+jwt"}, None, W.platform,
                                payload_text='{"a":' + deep(5000) + "}"))
    well_formed(res)
    assert "nested deeper than 64 levels" in checks["signature"]["detail"]


def test_lone_surrogates_and_non_ascii():
    res, checks = run(raw_token({"alg": "EdDSA", "kid": W.platform.kid, "typ": "vc+jwt"}, None, W.platform,
                                payload_text='{"id": "\\ud800"}'))
    assert "surrogate" in checks["signature"]["detail"]
    with pytest.raises(jws.JWSError, match="surrogate"):
        jws.parse(raw_token({"alg": "EdDSA", "kid": "\ud83d"}, {}))
    cred = mutate(W.credential, ("credentialSubject", "name"), "株式会社さくら \U0001f338")
    res, _ = run(W.token(cred))
    assert res.valid, res.checks
    res, checks = run(W.token(mutate(cred, ("credentialSubject", "obligation"), "１０００")))
    assert checks["amounts"]["ok"] is False and json.dumps(res.as_dict())


def test_free_text_signed_long_ago_may_hold_line_breaks_but_not_nul():
    from .certs import attestation

    cred = mutate(W.credential, ("credentialSubject", "name"), "Old\r\nName\t")
    cred["credentialSubject"]["coverage"][0]["policyNumber"] = "P-1\n"
    cred["credentialSubject"]["coverage"][0]["attestation"] = attestation(W.insurer, "P-1\n", "500")
    res, _ = run(W.token(cred))
    assert res.valid, res.checks
    res, checks = run(W.token(mutate(cred, ("credentialSubject", "name"), "a\u0000")))
    assert checks["signature"]["detail"].endswith("credentialSubject.name must not contain NUL")


# -- status lists: stale or unverifiable is "status unknown", never ok ---------------------------------------

def status_list(key=None, typ="vc+jwt", **fields):
    body = {**jws.parse(W.status_list()).payload, **fields}
    return jws.sign(body, key or W.platform, typ)


def test_a_status_list_past_its_ttl_is_status_unknown():
    listed = status_list(validFrom="2027-01-15T00:00:00Z", ttl=300_000)
    _res, checks = run(W.token(), status_list=listed, now=NOW + timedelta(minutes=4))
    assert checks["revocation"]["ok"] is True
    res, checks = run(W.token(), status_list=listed, now=NOW + timedelta(minutes=6))
    assert not res.valid and checks["revocation"]["ok"] is False
    assert checks["revocation"]["detail"] == ("status unknown: the status list is stale (fetched 2027-01-15T00:00:00Z, "
                                              "ttl 300 s; stale since 2027-01-15T00:05:00Z)")
    res, checks = run(W.token(), status_list=listed, now=NOW + timedelta(minutes=6), allow_stale=True)
    assert res.valid and checks["revocation"]["ok"] is None and "stale" in checks["revocation"]["detail"]


def test_the_fetch_time_counts_only_within_what_the_service_could_serve():
    listed = status_list(validFrom="2027-01-15T00:00:00Z", ttl=300_000)

    def revocation(fetched, minutes=8):
        return run(W.token(), status_list=listed, now=NOW + timedelta(minutes=minutes),
                   status_fetched_at=fetched)[1]["revocation"]

    assert revocation(NOW + timedelta(minutes=4))["ok"] is True  # fetched 4 min after signing: fresh 5 more
    assert revocation(NOW + timedelta(minutes=2))["detail"].endswith(
        "(fetched 2027-01-15T00:02:00Z, ttl 300 s; stale since 2027-01-15T00:07:00Z)")
    forged = NOW + timedelta(days=365)  # a forged fetch time gains one ttl at most
    assert revocation(forged, minutes=9)["ok"] is True
    assert "fetched 2027-01-15T00:05:00Z" in revocation(forged, minutes=11)["detail"]
    assert "fetched 2027-01-15T00:00:00Z" in revocation(NOW - timedelta(days=1))["detail"]


def test_a_stale_list_with_the_bit_set_still_revokes():
    body = jws.parse(W.status_list(revoked=True)).payload
    listed = jws.sign({**body, "validFrom": "2027-01-01T00:00:00Z", "ttl": 1000}, W.platform, "vc+jwt")
    _res, checks = run(W.token(), status_list=listed, allow_stale=True)
    assert checks["revocation"] == {"name": "revocation", "ok": False, "detail": "revoked (status list bit set)"}


@pytest.mark.parametrize(("fields", "words"), [
    ({"validUntil": "2027-01-14T00:00:00Z"}, "stale (valid until 2027-01-14T00:00:00Z)"),
    ({"validUntil": 5}, "is not a date-time"),
    ({"ttl": 300_000}, "no validFrom"),
    ({"validFrom": "2027-01-01T00:00:00Z", "ttl": "300"}, "not a positive number of milliseconds"),
    ({"validFrom": "2027-01-01T00:00:00Z", "ttl": True}, "not a positive number of milliseconds"),
    ({"validFrom": "2027-01-01T00:00:00Z", "ttl": 10**30}, "not a positive number of milliseconds"),
    ({"validFrom": "9999-12-31T00:00:00Z", "ttl": 86_400_000 * 365}, None),  # overflows the calendar: current
])
def test_status_list_freshness_fields(fields, words):
    _res, checks = run(W.token(), status_list=status_list(**fields))
    if words is None:
        assert checks["revocation"]["ok"] is True
    else:
        assert checks["revocation"]["ok"] is False and words in checks["revocation"]["detail"]
        assert checks["revocation"]["detail"].startswith("status unknown: ")


def test_status_list_signature_problems_each_say_what_is_wrong():
    rotated = KeyPair.generate()
    _res, checks = run(W.token(), status_list=status_list(key=rotated))
    assert checks["revocation"]["detail"] == (
        f"status unknown: the status list is signed by key {rotated.kid}, which is not in the given JWKS "
        "(rotated? fetch the current JWKS)")
    _res, checks = run(W.token(), status_list=status_list(typ="JWT"))
    assert checks["revocation"]["detail"] == "status unknown: the status list's header typ is 'JWT', not 'vc+jwt'"
    h, p, s = W.status_list().split(".")
    _res, checks = run(W.token(), status_list=f"{h}.{p}.{s[:-4]}AAAA")
    assert checks["revocation"]["detail"] == (
        f"status unknown: the status list's signature does not verify with platform key {W.platform.kid}")


@pytest.mark.parametrize("listed", [
    "", "garbage", 7, ["x"], {"a": 1}, W.token(),
    raw_token({"alg": "EdDSA", "kid": W.platform.kid, "typ": "vc+jwt"}, {"id": LIST}, W.platform),
    raw_token({"alg": "EdDSA", "kid": W.platform.kid, "typ": "vc+jwt"},
              {"id": LIST, "type": ["BitstringStatusListCredential"], "credentialSubject": ["x"]}, W.platform),
    raw_token({"alg": "EdDSA", "kid": W.platform.kid, "typ": "vc+jwt"},
              {"id": LIST, "type": ["BitstringStatusListCredential"],
               "credentialSubject": {"statusPurpose": "revocation", "encodedList": "uAAAA"}}, W.platform),
    raw_token({"alg": "EdDSA", "kid": W.platform.kid, "typ": "vc+jwt"},
              {"id": LIST, "type": ["BitstringStatusListCredential"],
               "credentialSubject": {"statusPurpose": "revocation", "encodedList": ["u"]}}, W.platform),
])
def test_an_unusable_status_list_is_status_unknown(listed):
    res = verify(W.token(), W.jwks(), W.insurer_jwks(), listed, now=NOW, receipt=W.receipt(W.token()),
                 log_key=W.log_key, allow_stale=True)
    checks = {c["name"]: c for c in res.checks}
    assert not res.valid and checks["revocation"]["ok"] is False
    assert checks["revocation"]["detail"].startswith("status unknown: ")


def test_hostile_receipts_are_malformed_not_errors():
    token = W.token()
    good = W.receipt(token)
    for bad in [{**good, "leafIndex": "0"}, {**good, "leafIndex": True}, {**good, "leafIndex": 2**70},
                {**good, "treeSize": -1}, {**good, "inclusionProof": "AAAA"}, {**good, "inclusionProof": [1]},
                {**good, "inclusionProof": ["A" * 10_000]}, {**good, "inclusionProof": ["AA=="] * 65},
                {**good, "checkpoint": 5}, {**good, "checkpoint": "x" * 10_000}]:
        ok, detail, _, _ = receipts.check(token, bad, W.log_key)
        assert ok is False and detail.startswith("the receipt is malformed"), (bad, detail)
    for key in ["", "a+b+c", "a+zz+AAAA", "\ud800+00+AA", "x" * 100_000]:
        ok, detail, _, _ = receipts.check(token, good, key)
        assert ok is False and detail
    assert receipts.check("\ud800", good, W.log_key)[0] is False


def test_a_list_fetched_just_now_is_current_by_the_clock():
    fresh = status_list(validFrom=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), ttl=300_000)
    res = verify(W.token(), W.jwks(), W.insurer_jwks(), fresh)
    assert {c["name"]: c["ok"] for c in res.checks}["revocation"] is True


def test_a_status_list_that_decompresses_past_the_bound_is_status_unknown():
    """A 22 KiB encodedList can claim 16 MiB and more (a gzip bomb): refused, not inflated."""
    import gzip

    from marketplace.crypto import bitstring
    from marketplace.crypto.b64 import b64u

    subject = jws.parse(W.status_list()).payload["credentialSubject"]
    for size, ok in ((bitstring.MAX_LIST_BYTES + 1, False), (1 << 20, True)):
        listed = status_list(credentialSubject={**subject, "encodedList": "u" + b64u(gzip.compress(bytes(size)))})
        _res, checks = run(W.token(), status_list=listed, allow_stale=True)
        assert checks["revocation"]["ok"] is ok, checks["revocation"]
        if not ok:
            assert checks["revocation"]["detail"] == "status unknown: the status list cannot be decoded"

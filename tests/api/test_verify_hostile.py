"""The public verify API, black-box, on hostile certificates and bodies: always 200 valid:false naming the
failing check (or a 4xx for a body that is not JSON at all), never a 5xx."""

import json

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.keys import service as keys
from marketplace.obligations.models import ObligationRecord
from tests.unit.hostile import DELETE, SHAPES, deep, dotted, mutate, raw_token

R = "/api/v1"


@pytest.fixture
def cert(world):
    ob = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=world.org("sakura").id,
                                                                   superseded_at=None))
    r = world.call("post", f"{R}/certificates", "sakura", json={"obligation": ob})
    assert r.status_code == 201, r.json
    return r.json


def post(world, body=None, **kw):
    r = world.client.post(f"{R}/verify", json=body, **kw) if body is not None or not kw \
        else world.client.post(f"{R}/verify", **kw)
    assert r.status_code < 500, r.get_data(as_text=True)
    return r


def checks_of(r) -> dict:
    assert r.status_code == 200, r.get_data(as_text=True)
    assert [c["name"] for c in r.json["checks"]][:8] == ["signature", "key_status", "validity_period", "revocation",
                                                        "log_inclusion", "insurer_attestations", "amounts",
                                                        "policies_current"]
    return {c["name"]: c for c in r.json["checks"]}


def signed(credential, header=None) -> str:
    """Signed by the service's own platform key: only the hostile field can fail."""
    key = keys.signer(keys.platform_key())
    return raw_token(header or {"alg": "EdDSA", "kid": key.kid, "typ": "vc+jwt"}, credential, key)


def test_the_real_certificate_is_valid(world, cert):
    assert post(world, {"certificate": cert["jws"]}).json["valid"] is True
    assert post(world, {"certificate": signed(cert["credential"])}).json["valid"] is False  # not in the log


def test_each_hostile_shape_is_valid_false_naming_the_check(world, cert):
    for path, value, check in SHAPES:  # one demo world for all (each test loads one)
        r = post(world, {"certificate": signed(mutate(cert["credential"], path, value))})
        checks = checks_of(r)
        assert r.json["valid"] is False and checks[check]["ok"] is False, (path, value)
        assert dotted(path) in checks[check]["detail"], checks[check]["detail"]


def test_a_hostile_kid(world, cert):
    for kid in [["a"], {"k": 1}, 5, None, "k\u0000", "\u00e9" * 300]:
        header = {"alg": "EdDSA", "kid": kid, "typ": "vc+jwt"}
        checks = checks_of(post(world, {"certificate": signed(cert["credential"], header)}))
        assert checks["signature"]["ok"] is False and "kid" in checks["signature"]["detail"], kid


def test_missing_coverage_and_deep_or_surrogate_payloads(world, cert):
    checks = checks_of(post(world, {"certificate": signed(mutate(cert["credential"], ("credentialSubject",
                                                                                      "coverage"), DELETE))}))
    assert "credentialSubject.coverage is missing" in checks["policies_current"]["detail"]
    key = keys.signer(keys.platform_key())
    head = {"alg": "EdDSA", "kid": key.kid, "typ": "vc+jwt"}
    for text, words in (('{"a":' + deep(5000) + "}", "nested deeper"), ('{"id":"\\ud800"}', "surrogate"),
                        ("[" * 40_000, "nested deeper")):
        checks = checks_of(post(world, {"certificate": raw_token(head, None, key, payload_text=text)}))
        assert words in checks["signature"]["detail"]


def test_hostile_receipts(world, cert):
    for receipt in ["x", 5, [1], {"leafIndex": "0"},
                    {"leafIndex": 2**70, "treeSize": 1, "inclusionProof": [], "checkpoint": "x"},
                    {"leafIndex": 0, "treeSize": 1, "inclusionProof": {"a": 1}, "checkpoint": "x"},
                    {"leafIndex": 0, "treeSize": 1, "inclusionProof": ["\u00e9"], "checkpoint": "\u0000"},
                    {"leafIndex": 0, "treeSize": 1, "inclusionProof": [], "checkpoint": ["x"]}]:
        checks = checks_of(post(world, {"certificate": cert["jws"], "receipt": receipt}))
        assert checks["log_inclusion"]["ok"] is False and checks["signature"]["ok"] is True, receipt


def test_the_receipt_of_the_certificate_itself_verifies(world, cert):
    checks = checks_of(post(world, {"certificate": cert["jws"], "receipt": cert["receipt"]}))
    assert checks["log_inclusion"]["ok"] is True


def test_odd_bodies_never_5xx(world):
    for body in [None, [], [1], "x", 5, True, {"certificate": None}, {"certificate": {"a": deep(50)}},
                 {"certificate": [[["x"]]]}, {"certificate": "\u00e9.\u00e9.\u00e9"}, {"certificate": "x", "extra": 1}]:
        r = post(world, data=json.dumps(body), content_type="application/json")
        assert r.status_code in (200, 400, 422), (body, r.status_code)
        if r.status_code == 200:
            assert r.json["valid"] is False


def test_hostile_json_text_never_5xx(world):
    for raw in ['{"certificate": ' + deep(1000) + "}", '{"certificate": ' + deep(100_000) + "}",
                '{"certificate": "\\ud800"}', '{"certificate": "a", "receipt": ' + deep(5000) + "}",
                '{"certificate": NaN}', '{"certificate": 1e999}', '{"certificate": ' + "9" * 5000 + "}",
                b'{"certificate": "\xff"}']:
        r = post(world, data=raw, content_type="application/json")
        assert r.status_code in (200, 400, 422), (raw[:40], r.status_code)


def test_verification_of_unknown_ids_is_404(world):
    for cid in ["x", "%00", "a" * 5000, "\u00e9", "..%2F..", "1" * 40, "urn:uuid:x", "%F0%9F%8C%B8"]:
        r = world.client.get(f"{R}/certificates/{cid}/verification")
        assert r.status_code == 404, (cid, r.status_code)


def test_verification_of_a_stored_certificate(world, cert):
    r = world.client.get(f"{R}/certificates/{cert['id']}/verification")
    assert r.status_code == 200 and r.json["valid"] is True

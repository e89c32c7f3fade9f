"""Certificates over the API, checked with an independent JOSE implementation (jwcrypto) and an
independent reading of the W3C Bitstring Status List spec."""

import base64
import gzip
import io
import itertools
import json
from datetime import UTC, date, datetime, timedelta

from jwcrypto import jwk as jjwk
from jwcrypto import jws as jjws
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.policies.models import Policy

R = "/api/v1"


def jp_obligation(world) -> str:
    return db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=world.org("sakura").id,
                                                                     superseded_at=None))


def issue(world) -> dict:
    r = world.call("post", f"{R}/certificates", "sakura", json={"obligation": jp_obligation(world)})
    assert r.status_code == 201, r.json
    return r.json


def foreign_verify(token: str, jwks: dict) -> dict:
    """Verify with jwcrypto against a JWKS, and return the header and payload it vouches for."""
    keyset = jjwk.JWKSet.from_json(json.dumps(jwks))
    obj = jjws.JWS()
    obj.deserialize(token)
    header = obj.jose_header
    obj.verify(keyset.get_key(header["kid"]), alg="EdDSA")
    return {"header": header, "payload": json.loads(obj.payload)}


def status_bit(list_jws: str, index: int, jwks: dict) -> bool:
    """W3C Bitstring Status List v1.0 section 3: multibase 'u' base64url, GZIP, index 0 = leftmost bit."""
    cred = foreign_verify(list_jws, jwks)["payload"]
    encoded = cred["credentialSubject"]["encodedList"]
    assert encoded[0] == "u"
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(bits) * 8 >= 131_072
    return bool((bits[index // 8] >> (7 - index % 8)) & 1)


def test_certificate_follows_the_contract(world):
    cert = issue(world)
    jwks = world.client.get("/.well-known/jwks.json").json
    got = foreign_verify(cert["jws"], jwks)
    assert got["header"] == {"alg": "EdDSA", "kid": cert["kid"], "typ": "vc+jwt"}
    platform = next(k for k in jwks["keys"] if k["kid"] == cert["kid"])
    assert jjwk.JWK(**{k: platform[k] for k in ("kty", "crv", "x")}).thumbprint() == cert["kid"]  # RFC 7638
    assert (platform["use"], platform["alg"], platform["status"]) == ("sig", "EdDSA", "active")
    vc = got["payload"]
    assert vc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert vc["type"] == ["VerifiableCredential", "ReserveOffsetCertificate"]
    assert vc["id"] == f"urn:uuid:{cert['id']}" and vc["issuer"] == world.app.config["BASE_URL"]
    s = vc["credentialSubject"]
    assert set(s) == {"id", "name", "licenseNumber", "jurisdiction", "period", "ruleset", "currency", "obligation",
                      "insuranceOffset", "netReserveRequired", "coverage"}
    assert (s["obligation"], s["insuranceOffset"], s["netReserveRequired"]) == ("5883337500", "2518359909",
                                                                                  "3364977591")
    assert sorted(c["policyNumber"] for c in s["coverage"]) == ["TMC-2026-0001", "TMC-USD-0042"]  # not HSR (BBB)
    assert sum(int(c["eligibleOffset"]) for c in s["coverage"]) == int(s["insuranceOffset"])
    assert vc["validUntil"] <= "2027-03-31T23:59:59Z"
    for c in s["coverage"]:
        assert set(c) == {"policyNumber", "insurer", "currency", "allocated", "eligibleOffset", "attestation"}
        insurer_id = c["insurer"]["id"].rsplit(":", 1)[1]
        ijwks = world.client.get(f"{R}/insurers/{insurer_id}/jwks.json").json
        att = foreign_verify(c["attestation"], ijwks)["payload"]
        assert set(att) == {"policyNumber", "insured", "currency", "limit", "deductible", "perils", "termStart",
                            "termEnd"}
        assert att["policyNumber"] == c["policyNumber"] and att["insured"] == s["id"]
    st = vc["credentialStatus"]
    assert st["type"] == "BitstringStatusListEntry" and st["statusPurpose"] == "revocation"
    ctx = world.client.get(vc["@context"][1].replace(world.app.config["BASE_URL"], ""))
    assert ctx.status_code == 200 and ctx.mimetype == "application/ld+json"
    assert "ReserveOffsetCertificate" in ctx.json["@context"]
    assert world.call("get", f"{R}/certificates/{cert['id']}", "sakura").json["status"]["status"] == "valid"


def test_status_list_and_revocation_by_supersession(world):
    first = issue(world)
    st = first["credential"]["credentialStatus"]
    path = st["statusListCredential"].replace(world.app.config["BASE_URL"], "")
    r = world.client.get(path)
    assert r.mimetype == "application/vc+jwt" and r.headers["Cache-Control"].startswith("public, max-age=")
    jwks = world.client.get("/.well-known/jwks.json").json
    published = foreign_verify(r.get_data(as_text=True), jwks)["payload"]
    assert published["credentialSubject"]["ttl"] == 300_000 and "ttl" not in published  # W3C: on the list itself
    # a cache may keep it only until validFrom + ttl: what remains of the ttl, never more
    age = (datetime.now(UTC) - datetime.fromisoformat(published["validFrom"].replace("Z", "+00:00"))).total_seconds()
    assert abs(int(r.headers["Cache-Control"].split("=")[1]) - (300 - age)) <= 2
    assert status_bit(r.get_data(as_text=True), int(st["statusListIndex"]), jwks) is False
    second = issue(world)
    assert world.call("get", f"{R}/certificates/{first['id']}", "sakura").json["status"]["reason"] == \
        f"superseded by certificate {second['id']}"
    r = world.client.get(path)
    assert status_bit(r.get_data(as_text=True), int(st["statusListIndex"]), jwks) is True
    from marketplace.certificates import statuslists

    later = datetime.now(UTC) + timedelta(seconds=200)
    assert statuslists.republish_due(later)["republished"] >= 1  # the schedule re-signs well before the ttl
    assert statuslists.republish_due(later)["republished"] == 0
    db.session.commit()
    again = foreign_verify(world.client.get(path).get_data(as_text=True), jwks)["payload"]
    assert again["validFrom"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")
    indexes = sorted(int(issue(world)["credential"]["credentialStatus"]["statusListIndex"]) for _ in range(4))
    assert any(b - a > 1 for a, b in itertools.pairwise(indexes))  # random, not sequential


def verify_api(world, token):
    r = world.client.post(f"{R}/verify", json={"certificate": token})
    assert r.status_code == 200
    return r.json, {c["name"]: c for c in r.json["checks"]}


def test_revocation_for_each_event_kind(world):
    from marketplace.policies import service as policies

    tmc = db.session.scalar(select(Policy.id).filter_by(number="TMC-2026-0001"))
    when = (date.today() + timedelta(days=90)).isoformat()
    cases = [
        ("cancel", lambda: world.call("post", f"{R}/policies/{tmc}/cancel", "tokio", json={"effective_on": when}),
         f"revoked: policy TMC-2026-0001 cancelled on {when}"),
    ]
    for _, act, reason in cases:
        cert = issue(world)
        assert verify_api(world, cert["jws"])[0]["valid"]
        assert act().status_code == 200
        body, checks = verify_api(world, cert["jws"])
        assert not body["valid"] and checks["revocation"]["detail"] == reason
    # amended, lapsed, insurer suspended, obligation recomputed: each on a fresh certificate
    usd = db.session.scalar(select(Policy).filter_by(number="TMC-USD-0042"))
    cert = issue(world)
    world.call("post", f"{R}/policies/{usd.id}/amend", "tokio", json={"perils": ["theft_hack", "insider_fraud",
                                                                                  "operational_failure",
                                                                                  "custodian_failure"]})
    detail = verify_api(world, cert["jws"])[1]["revocation"]["detail"]
    assert detail == "revoked: policy TMC-USD-0042 amended (revision 2)"
    world.call("post", f"{R}/policies/{usd.id}/attestations/custodial", "tokio")
    cert = issue(world)
    policies.lapse(db.session.get(Policy, usd.id), date(2030, 1, 1), "sweep")
    db.session.commit()  # outside a request nothing nudges the queue: the relay's schedule picks it up
    from marketplace.events.relay import relay

    assert relay()["done"] >= 1 and relay() == {"done": 0, "failed": 0}  # twice: no harm
    assert "lapsed on 2028-11-30" in verify_api(world, cert["jws"])[1]["revocation"]["detail"]


def test_suspension_and_recompute_revoke(world):
    cert = issue(world)
    world.call("post", f"{R}/insurers/{world.org('tokio').id}/suspend", "fsa", json={})
    assert verify_api(world, cert["jws"])[1]["revocation"]["detail"] == \
        "revoked: insurer Tokio Mutual Cyber suspended by the JP regulator"
    world.call("post", f"{R}/insurers/{world.org('tokio').id}/reinstate", "fsa", json={})
    cert = issue(world)
    world.call("post", f"{R}/reports/incidents", "sakura", json={
        "occurred_on": "2026-12-01", "kind": "other", "loss": {"amount": "1", "currency": "JPY"},
        "compensated": {"amount": "1", "currency": "JPY"}})
    assert world.call("post", f"{R}/obligations", "sakura", json={"period": "2027-Q1"}).status_code == 201
    assert verify_api(world, cert["jws"])[1]["revocation"]["detail"] == "revoked: obligation recomputed (revision 2)"


def test_rotation_keeps_old_certificates_verifiable(world):
    from marketplace.keys import service as keys

    old = issue(world)
    keys.rotate_platform()
    db.session.commit()
    jwks = world.client.get("/.well-known/jwks.json").json
    assert [k["status"] for k in jwks["keys"]] == ["retired", "active"]
    assert all("d" not in k for k in jwks["keys"])
    _body, checks = verify_api(world, old["jws"])
    assert checks["signature"]["ok"] and checks["key_status"]["ok"] and "retired" in checks["key_status"]["detail"]
    new = issue(world)
    assert new["kid"] == jwks["keys"][1]["kid"] != old["kid"]
    foreign_verify(old["jws"], jwks)
    foreign_verify(new["jws"], jwks)


def test_bundle_and_pdf_verify_offline(world, tmp_path):
    from click.testing import CliRunner
    from pypdf import PdfReader

    from marketplace.verify.cli import verify_command

    cert = issue(world)
    bundle = world.call("get", f"{R}/certificates/{cert['id']}/bundle", "sakura")
    assert "attachment" in bundle.headers["Content-Disposition"]
    (tmp_path / "b.json").write_text(bundle.get_data(as_text=True))
    pdf = world.call("get", f"{R}/certificates/{cert['id']}.pdf", "sakura")
    assert pdf.mimetype == "application/pdf"
    (tmp_path / "c.pdf").write_bytes(pdf.get_data())
    reader = PdfReader(io.BytesIO(pdf.get_data()))
    assert len(reader.pages) == 1 and "bundle.json" in reader.attachments
    text = reader.pages[0].extract_text()
    assert "Sakura Digital Exchange" in text and "3,364,977,591" in text and "verification" in text
    runner = CliRunner()
    for name in ("b.json", "c.pdf"):
        out = runner.invoke(verify_command, [str(tmp_path / name), "--json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.output)["valid"] is True
    (tmp_path / "t.jws").write_text(cert["jws"][:-3] + "AAA")
    out = runner.invoke(verify_command, [str(tmp_path / "t.jws"), "--jwks", str(tmp_path / "b.json")])
    assert out.exit_code == 1 and "INVALID" in out.output
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.4 garbage")
    assert runner.invoke(verify_command, [str(tmp_path / "junk.pdf")]).exit_code == 2
    assert runner.invoke(verify_command, [str(tmp_path / "missing")]).exit_code == 2
    out = world.client.get(f"{R}/certificates/{cert['id']}/verification")
    assert out.status_code == 200 and out.json["valid"] is True


def test_verify_api_never_fails_on_garbage(world):
    cert = issue(world)
    h, p, s = cert["jws"].split(".")
    for bad in ["", "x", "a.b.c", cert["jws"][:-10], f"{h}.{p}.{s[::-1]}", 12, None, ["x"], {"a": "b"},
                "eyJhbGciOiJub25lIn0." + p + ".", "." * 5000]:
        body, checks = verify_api(world, bad)
        assert body["valid"] is False and checks["signature"]["detail"]
    r = world.client.post(f"{R}/verify", json={"certificate": "x" * 70_000})
    assert r.status_code == 200 and "larger than" in r.json["checks"][0]["detail"]
    assert world.client.post(f"{R}/verify", json={}).status_code == 422
    assert world.client.post(f"{R}/verify", data="nope", content_type="text/plain").status_code == 415


def test_verify_is_rate_limited(world):
    statuses = [world.client.post(f"{R}/verify", json={"certificate": "x"}).status_code for _ in range(125)]
    assert statuses.count(200) == 120 and statuses[-1] == 429
    r = world.client.post(f"{R}/verify", json={"certificate": "x"})
    assert r.mimetype == "application/problem+json"

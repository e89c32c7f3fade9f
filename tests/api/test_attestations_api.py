"""Insurer keys and attestations: own key via `marketplace attest`, custodial, refusals; keys at rest."""

import json

from click.testing import CliRunner
from sqlalchemy import select

from marketplace.crypto import jws
from marketplace.crypto.keys import KeyPair
from marketplace.extensions import db
from marketplace.keys.models import SigningKey
from marketplace.policies.models import Policy
from marketplace.verify.cli import attest_command

R = "/api/v1"


def new_policy(world, number="OWN-1"):
    body = {"number": number, "insured": world.org("sakura").id, "limit": {"amount": "1000", "currency": "JPY"},
            "deductible": {"amount": "0", "currency": "JPY"}, "perils": ["theft_hack", "insider_fraud"],
            "term_start": "2026-12-01", "term_end": "2027-12-31", "cancellation_notice_days": 90}
    return world.call("post", f"{R}/policies", "harbour", json=body).json["id"]


def test_own_key_and_offline_attest_command(world, tmp_path):
    key = KeyPair.generate()
    (tmp_path / "key.jwk").write_text(json.dumps(key.private_jwk()))
    r = world.call("post", f"{R}/insurer-keys", "harbour", json={"jwk": key.public_jwk})
    assert r.status_code == 201 and r.json["kid"] == key.kid and "d" not in r.json
    leak = world.call("post", f"{R}/insurer-keys", "harbour", json={"jwk": key.private_jwk()})
    assert leak.status_code == 422 and "public key only" in leak.json["detail"]
    pid = new_policy(world)
    payload = world.call("get", f"{R}/policies/{pid}/attestation-payload", "harbour").json
    (tmp_path / "policy.json").write_text(json.dumps(payload))
    out = CliRunner().invoke(attest_command, ["--key", str(tmp_path / "key.jwk"), "--policy",
                                              str(tmp_path / "policy.json")])
    assert out.exit_code == 0, out.output
    token = out.output.strip()
    r = world.call("post", f"{R}/policies/{pid}/attestations", "harbour", json={"jws": token})
    assert r.status_code == 201 and r.json["kid"] == key.kid and r.json["custodial"] is False
    again = world.call("post", f"{R}/policies/{pid}/attestations", "harbour", json={"jws": token})
    assert again.status_code == 409
    jwks = world.client.get(f"{R}/insurers/{world.org('harbour').id}/jwks.json").json
    assert key.kid in [k["kid"] for k in jwks["keys"]]


def test_mismatching_fields_are_named(world):
    key = KeyPair.generate()
    world.call("post", f"{R}/insurer-keys", "harbour", json={"jwk": key.public_jwk})
    pid = new_policy(world)
    payload = world.call("get", f"{R}/policies/{pid}/attestation-payload", "harbour").json
    wrong = {**payload, "limit": "999999", "perils": ["theft_hack"], "extra": 1}
    r = world.call("post", f"{R}/policies/{pid}/attestations", "harbour",
                   json={"jws": jws.sign(wrong, key, "attestation+jwt")})
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json["errors"]} == {"#/payload/limit", "#/payload/perils", "#/payload/extra"}
    stranger = KeyPair.generate()
    r = world.call("post", f"{R}/policies/{pid}/attestations", "harbour",
                   json={"jws": jws.sign(payload, stranger, "attestation+jwt")})
    assert r.status_code == 422 and "kid" in r.json["detail"]
    forged = jws.sign(payload, stranger, "attestation+jwt").split(".")
    header = jws.sign(payload, key, "attestation+jwt").split(".")[0]
    r = world.call("post", f"{R}/policies/{pid}/attestations", "harbour",
                   json={"jws": ".".join([header, forged[1], forged[2]])})
    assert r.status_code == 422 and "signature" in r.json["detail"]
    world.call("post", f"{R}/insurer-keys/{key.kid}/retire", "harbour")
    r = world.call("post", f"{R}/policies/{pid}/attestations", "harbour",
                   json={"jws": jws.sign(payload, key, "attestation+jwt")})
    assert r.status_code == 422 and "retired" in r.json["detail"]
    assert world.call("post", f"{R}/policies/{pid}/attestations", "tokio", json={"jws": "a.b.c"}).status_code == 404


def test_unattested_revision_contributes_nothing(world):
    from marketplace.obligations.models import ObligationRecord

    tmc = db.session.scalar(select(Policy).filter_by(number="TMC-2026-0001"))
    world.call("post", f"{R}/policies/{tmc.id}/amend", "tokio", json={"deductible": {"amount": "60000000",
                                                                                       "currency": "JPY"}})
    ob = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=world.org("sakura").id))
    rep = world.call("get", f"{R}/obligations/{ob}/offset", "sakura").json
    entry = next(a for a in rep["allocations"] if a["policy_number"] == "TMC-2026-0001")
    assert entry["eligible_offset"]["amount"] == "0"
    assert [c["name"] for c in entry["checks"] if not c["ok"]] == ["insurer_attestation"]
    r = world.call("post", f"{R}/policies/{tmc.id}/attestations/custodial", "tokio")
    assert r.status_code == 201 and r.json["revision"] == 2 and r.json["custodial"]
    rep = world.call("get", f"{R}/obligations/{ob}/offset", "sakura").json
    entry = next(a for a in rep["allocations"] if a["policy_number"] == "TMC-2026-0001")
    assert int(entry["eligible_offset"]["amount"]) > 0


def test_private_keys_are_encrypted_at_rest(world):
    from marketplace.keys import service as keys

    row = keys.platform_key()
    db.session.commit()
    import os
    from pathlib import Path

    kek_file = Path(world.app.instance_path) / "key-encryption-key"
    assert oct(os.stat(kek_file).st_mode & 0o777) == "0o600"
    kp = keys.signer(row)
    raw_d = kp.private_jwk()["d"]
    assert raw_d not in repr(row) and raw_d not in repr(kp)
    from marketplace.crypto.b64 import unb64u

    assert unb64u(raw_d) not in row.private_wrapped
    assert all("d" not in k for k in keys.platform_jwks()["keys"])
    rows = db.session.scalars(select(SigningKey)).all()
    assert all(r.private_wrapped is None or len(r.private_wrapped) == 12 + 32 + 16 for r in rows)


def test_production_refuses_to_sign_without_kek(world):
    world.app.config["ENV_NAME"] = "production"
    world.app.config["KEY_ENCRYPTION_KEY"] = None
    from marketplace.obligations.models import ObligationRecord

    ob = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=world.org("sakura").id))
    r = world.call("post", f"{R}/certificates", "sakura", json={"obligation": ob})
    assert r.status_code == 503 and "MARKETPLACE_KEY_ENCRYPTION_KEY" in r.json["detail"]
    world.app.config["KEY_ENCRYPTION_KEY"] = "too-short"
    r = world.call("post", f"{R}/certificates", "sakura", json={"obligation": ob})
    assert r.status_code == 503 and "too-short" not in r.get_data(as_text=True)


def test_small_order_key_is_not_registered(world):
    identity = {"kty": "OKP", "crv": "Ed25519", "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
    r = world.call("post", f"{R}/insurer-keys", "harbour", json={"jwk": identity})
    assert r.status_code == 422 and "small-order" in r.json["detail"]
    assert [e["pointer"] for e in r.json["errors"]] == ["#/jwk"]


def test_attestation_must_be_typed(world):
    key = KeyPair.generate()
    world.call("post", f"{R}/insurer-keys", "harbour", json={"jwk": key.public_jwk})
    pid = new_policy(world)
    payload = world.call("get", f"{R}/policies/{pid}/attestation-payload", "harbour").json
    for typ in ("vc+jwt", "application/vc+jwt", "JOSE"):  # another kind of document
        r = world.call("post", f"{R}/policies/{pid}/attestations", "harbour", json={"jws": jws.sign(payload, key, typ)})
        assert r.status_code == 422 and "typ" in r.json["detail"]
        assert [e["pointer"] for e in r.json["errors"]] == ["#/jws"]
    r = world.call("post", f"{R}/policies/{pid}/attestations", "harbour",
                   json={"jws": jws.sign(payload, key, "application/attestation+jwt")})
    assert r.status_code == 201


def test_an_attestation_typed_jwt_as_jose_libraries_write_it_is_accepted(world):
    key = KeyPair.generate()
    world.call("post", f"{R}/insurer-keys", "harbour", json={"jwk": key.public_jwk})
    pid = new_policy(world)
    payload = world.call("get", f"{R}/policies/{pid}/attestation-payload", "harbour").json
    r = world.call("post", f"{R}/policies/{pid}/attestations", "harbour", json={"jws": jws.sign(payload, key, "JWT")})
    assert r.status_code == 201, r.json

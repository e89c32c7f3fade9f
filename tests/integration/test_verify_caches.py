"""The verify API's caches (issue 15) on SQLite and PostgreSQL: a change made by another worker (its own app
context, so its own session and connection, or a bare connection) is seen by the very next request: a rotated
or newly added platform key, a newly registered insurer key, a new status-list bit, a republished list, a new
log batch, a revoked certificate. A verification costs a fixed few statements. Counts, never timings."""

from __future__ import annotations

import copy
import uuid
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import insert, select, update

from marketplace.attestations.models import Attestation
from marketplace.certificates import online, service, statuslists
from marketplace.certificates.models import Certificate, StatusList
from marketplace.crypto.keys import KeyPair
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.keys import service as keys
from marketplace.keys.models import SigningKey
from marketplace.obligations.models import ObligationRecord
from marketplace.policies import service as policies
from marketplace.policies.models import Policy
from marketplace.tlog import sequencer
from tests.sql_statements import statements
from tests.unit.hostile import raw_token


@contextmanager
def elsewhere(app):
    """Another worker's unit of work: its own app context, hence its own session and connection."""
    with app.app_context():
        yield
        db.session.commit()


def issue() -> Certificate:
    ob = db.session.scalars(select(ObligationRecord).filter_by(superseded_at=None)).first()
    cert = service.issue(ob, "test")
    db.session.commit()
    sequencer.integrate()
    return cert


def check(client, token: str) -> dict:
    db.session.remove()  # a new request starts from a fresh session, as in a worker
    r = client.post("/api/v1/verify", json={"certificate": token})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return {c["name"]: c for c in r.json["checks"]} | {"valid": r.json["valid"]}


def signed(credential: dict, key: KeyPair) -> str:
    return raw_token({"alg": "EdDSA", "kid": key.kid, "typ": "vc+jwt"}, credential, key)


def platform_signer() -> KeyPair:
    return keys.signer(keys.platform_key())


def test_a_verification_costs_a_fixed_few_statements(demo):
    cert, client = issue(), demo.test_client()
    assert check(client, cert.jws)["valid"]
    with statements() as seen:
        assert check(client, cert.jws)["valid"]
    # one statement: the keys' rows, the certificate's status, its status list, the checkpoint, and every coverage
    # entry's policy and attestation
    assert len(seen) == 1, seen
    assert all(f"FROM {t}" in seen[0] for t in ("signing_keys", "certificates", "status_lists", "tlog_checkpoints",
                                                "policies")), seen
    assert not any("FROM status_lists" in s and "bits" in s for s in seen)  # never the 16 KiB of bits


def test_rotated_and_added_platform_keys_are_seen_by_the_next_request(demo):
    cert, client = issue(), demo.test_client()
    first = check(client, cert.jws)
    assert first["valid"] and first["key_status"]["detail"].endswith("is active")
    # another worker rotates: the key that signed the certificate is retired, a new one is active
    with elsewhere(demo):
        _, new = keys.rotate_platform()
        new_kid = new.kid
    after = check(client, cert.jws)
    assert after["valid"] and after["key_status"]["detail"] == f"platform key {cert.kid} is retired"
    kids = [k["kid"] for k in demo.test_client().get("/.well-known/jwks.json").json["keys"]]
    assert kids[-1] == new_kid and cert.kid in kids
    # a key added by a bare connection: a certificate it signed verifies at once
    extra = KeyPair.generate()
    token = signed(cert.credential, extra)
    assert check(client, token)["signature"]["detail"].startswith("signed with unknown key id")
    with db.engine.begin() as conn:
        conn.execute(insert(SigningKey).values(kid=extra.kid, purpose="platform", owner_id=None,
                                               public_jwk=extra.public_jwk, status="active", created_at=utcnow()))
    now = check(client, token)
    assert now["signature"]["ok"] and now["key_status"]["ok"], now
    # and retired by a bare connection: its status changes at once
    with db.engine.begin() as conn:
        conn.execute(update(SigningKey).where(SigningKey.kid == extra.kid)
                     .values(status="retired", retired_at=utcnow()))
    assert check(client, token)["key_status"]["detail"] == f"platform key {extra.kid} is retired"


def test_the_keys_read_with_the_snapshot_are_the_keyring(demo):
    """The verification's one statement reads the same keyring as keys.keyring, in the same order (oldest first;
    a key stored last by a bare connection may be older than all)."""
    cert = issue()
    for _ in range(2):
        keys.rotate_platform()
    db.session.commit()
    old = KeyPair.generate()
    with db.engine.begin() as conn:
        conn.execute(insert(SigningKey).values(kid=old.kid, purpose="platform", owner_id=None,
                                               public_jwk=old.public_jwk, status="retired",
                                               created_at=utcnow() - timedelta(days=400)))
    insurer_ids = [c["insurer"]["id"].rsplit(":", 1)[-1] for c in cert.credential["credentialSubject"]["coverage"]]
    ring = online.snapshot([*insurer_ids, "no-such-insurer"], None, None, []).keyring
    assert ring == keys.keyring([*insurer_ids, "no-such-insurer"], log=True)
    assert ring.platform["keys"][0]["kid"] == old.kid and len(ring.platform["keys"]) == 4
    assert ring.log is not None and ring.insurers["no-such-insurer"] == {"keys": []}
    assert all(ring.insurers[i]["keys"] for i in insurer_ids)


def test_a_newly_registered_insurer_key_is_seen_by_the_next_request(demo):
    cert, client = issue(), demo.test_client()
    assert check(client, cert.jws)["insurer_attestations"]["ok"]
    entry = cert.credential["credentialSubject"]["coverage"][0]
    insurer_id = entry["insurer"]["id"].rsplit(":", 1)[-1]
    policy = db.session.scalar(select(Policy).filter_by(insurer_id=insurer_id, number=entry["policyNumber"]))
    body = db.session.scalar(select(Attestation).filter_by(policy_id=policy.id, revision=policy.revision)).jws
    from marketplace.crypto import jws as jws_mod

    fresh = KeyPair.generate()
    cred = copy.deepcopy(cert.credential)
    cred["credentialSubject"]["coverage"][0]["attestation"] = jws_mod.sign(jws_mod.parse(body).payload, fresh,
                                                                           "attestation+jwt")
    token = signed(cred, platform_signer())
    before = check(client, token)
    assert not before["insurer_attestations"]["ok"]
    assert f"attestation key '{fresh.kid}' is not among insurer" in before["insurer_attestations"]["detail"]
    with elsewhere(demo):  # the insurer registers the key through another worker
        keys.register_insurer_key(insurer_id, {"kty": "OKP", "crv": "Ed25519", "x": fresh.public_jwk["x"]})
    after = check(client, token)
    assert after["insurer_attestations"]["ok"], after["insurer_attestations"]


def unknown_certificate(cert: Certificate) -> tuple[str, int, int]:
    """A certificate the platform signed but did not store, on the same list at a free index: its revocation
    check can only read the status list (a stored one's answer comes from its own row)."""
    cred = copy.deepcopy(cert.credential)
    cred["id"] = f"urn:uuid:{uuid.uuid4()}"
    index = (cert.status_index + 1) % 131_072
    cred["credentialStatus"]["statusListIndex"] = str(index)
    cred["credentialStatus"]["id"] = cred["credentialStatus"]["statusListCredential"] + f"#{index}"
    return signed(cred, platform_signer()), cert.status_list_id, index


def test_a_new_status_list_bit_is_seen_by_the_next_request(demo):
    cert, client = issue(), demo.test_client()
    token, list_id, index = unknown_certificate(cert)
    assert check(client, token)["revocation"]["ok"]
    with elsewhere(demo):  # another worker sets the bit (and republishes, as a revocation does)
        statuslists.set_revoked(list_id, index)
    assert check(client, token)["revocation"] == {"name": "revocation", "ok": False,
                                                  "detail": "revoked (status list bit set)"}
    # a stored certificate revoked by another worker: its reason, at once
    assert check(client, cert.jws)["valid"]
    with elsewhere(demo):
        service.revoke(db.session.get(Certificate, cert.id), "policy cancelled on 2027-02-01")
    after = check(client, cert.jws)
    assert not after["valid"] and after["revocation"]["detail"] == "revoked: policy cancelled on 2027-02-01"


def policy_of(entry: dict) -> Policy:
    return db.session.scalar(select(Policy).filter_by(insurer_id=entry["insurer"]["id"].rsplit(":", 1)[-1],
                                                      number=entry["policyNumber"]))


def test_a_cancelled_or_amended_policy_is_seen_by_the_next_request(demo):
    cert, client = issue(), demo.test_client()
    first, second = cert.credential["credentialSubject"]["coverage"][:2]
    assert check(client, cert.jws)["policies_current"] == {
        "name": "policies_current", "ok": True, "detail": "every policy is active at the attested revision"}
    with elsewhere(demo):  # the insurer cancels the first policy in another worker (the revocation is not relayed)
        p = policy_of(first)
        today = utcnow().date()
        policies.cancel(p, today + timedelta(days=p.cancellation_notice_days), today, "test", "test")
    after = check(client, cert.jws)
    assert after["revocation"]["ok"] and after["policies_current"] == {
        "name": "policies_current", "ok": False, "detail": f"policy {first['policyNumber']} is cancelled"}
    # a bare connection moves the second to a new revision, which no attestation covers yet
    policy_id, revision = policy_of(second).id, policy_of(second).revision
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(update(Policy).where(Policy.id == policy_id).values(revision=revision + 1))
    detail = check(client, cert.jws)["policies_current"]["detail"]
    assert detail == (f"policy {first['policyNumber']} is cancelled; policy {second['policyNumber']} has changed "
                      f"since (now revision {revision + 1})"), detail


def test_a_republished_status_list_is_seen_by_the_next_request(demo):
    cert, client = issue(), demo.test_client()
    token, list_id, _ = unknown_certificate(cert)
    assert check(client, token)["revocation"]["ok"]
    # a bare connection stores a list signed long ago (its ttl long past) as the published one
    stale = statuslists._sign(list_id, db.session.get(StatusList, list_id).bits, utcnow() - timedelta(days=1))
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(update(StatusList).where(StatusList.id == list_id).values(published=stale,
                                                                               published_at=utcnow()))
    detail = check(client, token)["revocation"]["detail"]
    assert detail.startswith("status unknown: the status list is stale"), detail
    with elsewhere(demo):  # the schedule republishes it in another worker
        assert statuslists.republish_due(utcnow() + timedelta(days=1))["republished"] >= 1
    assert check(client, token)["revocation"]["ok"]


def test_a_new_log_batch_is_seen_by_the_next_request(demo):
    cert, client = issue(), demo.test_client()
    first = check(client, cert.jws)["log_inclusion"]
    assert first["ok"]
    issue()  # another issuance: a new batch, a larger tree
    later = check(client, cert.jws)["log_inclusion"]
    assert later["ok"] and later["detail"] != first["detail"], (first, later)
    size = int(later["detail"].split("tree size ")[1].split(",")[0])
    assert size > int(first["detail"].split("tree size ")[1].split(",")[0])

"""Online verification on both backends: hostile values that reach the database lookups (NUL bytes,
huge numbers, odd ids) are refused before they do, so PostgreSQL never sees them: valid:false, no 5xx."""

from sqlalchemy import select

from marketplace.certificates import service
from marketplace.extensions import db
from marketplace.keys import service as keys
from marketplace.obligations.models import ObligationRecord
from marketplace.tlog import sequencer
from tests.unit.hostile import COV0, mutate, raw_token

NUL = "\u0000"
HOSTILE = [
    (("id",), f"urn:uuid:{NUL}"),
    (("id",), "urn:uuid:" + "9" * 90),
    ((*COV0, "policyNumber"), f"P{NUL}"),
    ((*COV0, "insurer", "id"), f"urn:marketplace:insurer:{NUL}"),
    ((*COV0, "insurer", "id"), "urn:marketplace:insurer:" + "x" * 150),
    (("credentialStatus", "statusListCredential"), "{lists}/" + "9" * 30),
    (("credentialStatus", "statusListCredential"), "{lists}/2147483648"),
    (("credentialStatus", "statusListCredential"), "{lists}/\uff11"),
    (("credentialStatus", "statusListIndex"), "999999999"),
]


def test_hostile_values_never_reach_the_database(demo):
    ob = db.session.scalars(select(ObligationRecord).filter_by(superseded_at=None)).first()
    cert = service.issue(ob, "test")
    db.session.commit()
    sequencer.integrate()
    key = keys.signer(keys.platform_key())
    client = demo.test_client()
    lists = cert.credential["credentialStatus"]["statusListCredential"].rsplit("/", 1)[0]
    for path, value in HOSTILE:
        value = value.replace("{lists}", lists)
        token = raw_token({"alg": "EdDSA", "kid": key.kid, "typ": "vc+jwt"},
                          mutate(cert.credential, path, value), key)
        r = client.post("/api/v1/verify", json={"certificate": token})
        assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
        assert r.json["valid"] is False, path
    for cid in ["%00", "a%00b", "9" * 36, "x" * 37]:
        assert client.get(f"/api/v1/certificates/{cid}/verification").status_code == 404
    r = client.get(f"/api/v1/certificates/{cert.id}/verification")
    assert r.status_code == 200 and r.json["valid"] is True, r.json

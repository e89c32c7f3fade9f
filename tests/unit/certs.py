"""A small certificate made in memory, shaped exactly like the service's (DESIGN 5)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from marketplace.crypto import bitstring, jws
from marketplace.crypto.keys import KeyPair

BASE = "https://marketplace.example"
LIST = f"{BASE}/api/v1/status-lists/1"
INSURER = "urn:marketplace:insurer:ins-1"
INSURED = "urn:marketplace:exchange:ex-1"
NOW = datetime(2027, 1, 15, tzinfo=UTC)


def attestation(key: KeyPair, number: str, limit: str, currency: str = "JPY") -> str:
    return jws.sign({"policyNumber": number, "insured": INSURED, "currency": currency, "limit": limit,
                     "deductible": "0", "perils": ["theft_hack"], "termStart": "2026-12-01",
                     "termEnd": "2027-11-30"}, key, "attestation+jwt")


class World:
    def __init__(self):
        self.platform = KeyPair.generate()
        self.insurer = KeyPair.generate()
        self.log = KeyPair.generate()
        self.index = 70_001
        self.credential = {
            "@context": ["https://www.w3.org/ns/credentials/v2", f"{BASE}/contexts/reserve-offset/v1"],
            "type": ["VerifiableCredential", "ReserveOffsetCertificate"], "id": "urn:uuid:c-1", "issuer": BASE,
            "validFrom": "2027-01-01T00:00:00Z", "validUntil": "2027-03-31T23:59:59Z",
            "credentialSubject": {
                "id": INSURED, "name": "X", "licenseNumber": "L", "jurisdiction": "JP",
                "period": {"start": "2027-01-01", "end": "2027-03-31"},
                "ruleset": {"id": "JP-FSA-2026", "version": "1", "digest": "sha256:" + "0" * 64},
                "currency": "JPY", "obligation": "1000", "insuranceOffset": "300", "netReserveRequired": "700",
                "coverage": [
                    {"policyNumber": "P-1", "insurer": {"id": INSURER, "name": "I"}, "currency": "JPY",
                     "allocated": "200", "eligibleOffset": "190",
                     "attestation": attestation(self.insurer, "P-1", "500")},
                    {"policyNumber": "P-2", "insurer": {"id": INSURER, "name": "I"}, "currency": "JPY",
                     "allocated": "120", "eligibleOffset": "110",
                     "attestation": attestation(self.insurer, "P-2", "900")},
                ]},
            "credentialStatus": {"id": f"{LIST}#{self.index}", "type": "BitstringStatusListEntry",
                                 "statusPurpose": "revocation", "statusListIndex": str(self.index),
                                 "statusListCredential": LIST},
        }

    @property
    def log_key(self) -> str:
        from marketplace.crypto.b64 import unb64u
        from marketplace.tlog import note

        return note.verifier_key("log.example/test", unb64u(self.log.public_jwk["x"]))

    def receipt(self, token: str) -> dict:
        """A one-entry log holding `token`, with its signed checkpoint."""
        from marketplace.crypto.b64 import unb64u
        from marketplace.domain import merkle
        from marketplace.tlog import note

        root = merkle.leaf_hash(token.encode() if isinstance(token, str) else b"")
        signed = note.sign(note.body("log.example/test", 1, root), "log.example/test", self.log,
                           unb64u(self.log.public_jwk["x"]))
        return {"leafIndex": 0, "treeSize": 1, "inclusionProof": [], "checkpoint": signed}

    def jwks(self, status: str = "active") -> dict:
        return {"keys": [{**self.platform.public_jwk, "use": "sig", "alg": "EdDSA", "status": status}]}

    def insurer_jwks(self) -> dict:
        return {INSURER: {"keys": [{**self.insurer.public_jwk, "status": "active"}]}}

    def token(self, credential: dict | None = None, key: KeyPair | None = None, typ: str = "vc+jwt") -> str:
        return jws.sign(credential or self.credential, key or self.platform, typ)

    def status_list(self, revoked: bool = False) -> str:
        bits = bytearray(131_072 // 8)
        if revoked:
            bitstring.set_bit(bits, self.index)
        return jws.sign({"id": LIST, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                         "credentialSubject": {"id": f"{LIST}#list", "type": "BitstringStatusList",
                                               "statusPurpose": "revocation",
                                               "encodedList": bitstring.encode(bytes(bits))}},
                        self.platform, "vc+jwt")

    def edited(self) -> dict:
        return copy.deepcopy(self.credential)

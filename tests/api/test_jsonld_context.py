"""The certificate's JSON-LD context, as an independent JSON-LD processor (pyld) reads it after the W3C VC 2.0
context: no term of ours may redefine one the VC context protects, and every field of the certificate expands to
an IRI."""

import json

from pyld import jsonld

from .test_certificates_api import foreign_verify, issue

V2 = "https://www.w3.org/ns/credentials/v2"
CRED = "https://www.w3.org/2018/credentials#"
# An excerpt of https://www.w3.org/ns/credentials/v2: its protected top-level terms that a context of ours could
# meet (the full context is not on this machine; these are the terms that clash when redefined).
V2_EXCERPT = {"@context": {
    "@version": 1.1, "@protected": True, "id": "@id", "type": "@type",
    "description": "https://schema.org/description", "name": "https://schema.org/name",
    "VerifiableCredential": f"{CRED}VerifiableCredential",
    "credentialSubject": {"@id": f"{CRED}credentialSubject", "@type": "@id"},
    "credentialStatus": {"@id": f"{CRED}credentialStatus", "@type": "@id"},
    "issuer": {"@id": f"{CRED}issuer", "@type": "@id"},
    "validFrom": {"@id": f"{CRED}validFrom", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
    "validUntil": {"@id": f"{CRED}validUntil", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
}}


def _loader(world, context_url: str):
    served = world.client.get(context_url.removeprefix(world.app.config["BASE_URL"]))
    assert served.status_code == 200 and served.mimetype == "application/ld+json"
    documents = {V2: V2_EXCERPT, context_url: json.loads(served.get_data())}  # "@version": 1.1 as JSON has it

    def load(url, options=None):
        return {"contextUrl": None, "documentUrl": url, "document": documents[url]}

    return load


def _iris(node, out: set) -> set:
    if isinstance(node, dict):
        out.update(k for k in node if not k.startswith("@"))
        for v in node.values():
            _iris(v, out)
    elif isinstance(node, list):
        for v in node:
            _iris(v, out)
    return out


def test_the_certificate_expands_under_the_vc_context(world):
    cert = issue(world)
    payload = foreign_verify(cert["jws"], world.client.get("/.well-known/jwks.json").json)["payload"]
    context_url = payload["@context"][1]
    expanded = jsonld.expand(payload, {"documentLoader": _loader(world, context_url)})
    iris = _iris(expanded, set())
    assert "https://schema.org/name" in iris  # the VC context's name, not a redefinition of it
    ours = {i.rsplit("#", 1)[1] for i in iris if i.startswith(context_url)}
    assert {"insuranceOffset", "netReserveRequired", "coverage", "policyNumber", "eligibleOffset",
            "attestation", "licenseNumber"} <= ours, ours

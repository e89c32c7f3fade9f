"""Hostile certificates: wrong-typed fields at known paths, raw headers, and JSON strategies."""

from __future__ import annotations

import base64
import copy
import json

from hypothesis import strategies as st

from marketplace.crypto.keys import KeyPair

CS, COV0 = ("credentialSubject",), ("credentialSubject", "coverage", 0)

# (path in the credential, hostile value, a check that must fail, naming the path)
SHAPES = [
    (CS, [1], "insurer_attestations"),
    (CS, "x", "amounts"),
    ((*CS, "coverage"), {"a": 1}, "insurer_attestations"),
    ((*CS, "coverage"), "P-1", "amounts"),
    (COV0, [], "insurer_attestations"),
    ((*COV0, "insurer"), "urn:marketplace:insurer:x", "insurer_attestations"),
    ((*COV0, "insurer", "id"), 42, "insurer_attestations"),
    ((*COV0, "insurer", "id"), ["urn:marketplace:insurer:x"], "policies_current"),
    ((*COV0, "insurer", "id"), {"id": "x"}, "insurer_attestations"),
    ((*COV0, "policyNumber"), 7, "insurer_attestations"),
    ((*COV0, "policyNumber"), {"n": 1}, "policies_current"),
    ((*COV0, "policyNumber"), "P-1\u0000", "policies_current"),
    ((*COV0, "attestation"), ["x"], "insurer_attestations"),
    ((*COV0, "allocated"), 200, "insurer_attestations"),
    ((*COV0, "eligibleOffset"), None, "amounts"),
    ((*CS, "obligation"), 1000, "amounts"),
    ((*CS, "obligation"), "1e3", "amounts"),
    ((*CS, "currency"), ["JPY"], "amounts"),
    ((*CS, "id"), {"id": "x"}, "insurer_attestations"),
    ((*CS, "name"), 5, "signature"),
    ((*CS, "period"), "2027-Q1", "signature"),
    (("credentialStatus",), "x", "revocation"),
    (("credentialStatus", "statusListIndex"), 70001, "revocation"),
    (("credentialStatus", "statusListIndex"), "9" * 40, "revocation"),
    (("credentialStatus", "statusListIndex"), "-1", "revocation"),
    (("credentialStatus", "statusListIndex"), "\uff11\uff12", "revocation"),  # full-width digits
    (("credentialStatus", "statusListCredential"), ["https://x.example/"], "revocation"),
    (("credentialStatus", "statusListCredential"), "javascript:alert(1)", "revocation"),
    (("credentialStatus", "statusListCredential"), 3.5, "revocation"),
    (("validFrom",), 20270101, "validity_period"),
    (("validUntil",), "tomorrow", "validity_period"),
    (("id",), {"uuid": 1}, "revocation"),
    (("type",), "VerifiableCredential", "signature"),
    (("@context",), {}, "signature"),
    (("issuer",), 5, "signature"),
]
DELETE = object()


def mutate(credential: dict, path: tuple, value) -> dict:
    cred = copy.deepcopy(credential)
    node = cred
    for step in path[:-1]:
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cred


def dotted(path: tuple) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def paths(value, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON value (objects and lists), the value's own fields first."""
    out = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for k, v in items:
        out.append((*prefix, k))
        out += paths(v, (*prefix, k))
    return out


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header, payload, key: KeyPair | None = None, payload_text: str | None = None) -> str:
    """A compact JWS over any header and payload (or payload text), signed when a key is given."""
    si = b64(json.dumps(header).encode()) + "." + b64((payload_text or json.dumps(payload)).encode())
    return si + "." + b64(key.sign(si.encode()) if key else bytes(64))


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


text = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates included
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(text, inner, max_size=4), max_leaves=12)

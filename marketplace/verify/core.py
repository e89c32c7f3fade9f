"""Verify a certificate JWS against keys and a status list that the caller supplies.

Online callers add what only the service knows (revocation reasons, whether policies are current);
offline callers pass the bundle's JWKS and status list. Every check has a plain-words detail; nothing
here raises on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..crypto import bitstring, jws

INT = re.compile(r"^(0|[1-9][0-9]{0,30})$")
CHECKS = ("signature", "key_status", "validity_period", "revocation", "log_inclusion", "insurer_attestations",
          "amounts", "policies_current")


@dataclass
class Online:
    revocation: Callable[[str], tuple[bool, str] | None] | None = None   # cert urn -> (revoked, reason)
    policies_current: Callable[[dict], tuple[bool, str]] | None = None    # credential subject -> verdict
    log: Callable[[str, Any], tuple[bool, str]] | None = None             # (jws, receipt) -> verdict


@dataclass
class Result:
    checks: list[dict] = field(default_factory=list)
    credential: dict | None = None

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c["ok"] is not False for c in self.checks) and \
            any(c["name"] == "signature" and c["ok"] for c in self.checks)

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        self.checks.append({"name": name, "ok": ok, "detail": detail})

    def as_dict(self) -> dict:
        return {"valid": self.valid, "checks": self.checks}


def _keys(jwks: Any) -> dict[str, dict]:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        return {}
    return {k["kid"]: k for k in jwks["keys"] if isinstance(k, dict) and isinstance(k.get("kid"), str)}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else None


def verify(token: Any, platform_jwks: Any, insurer_jwks: dict | None = None, status_list: str | None = None,
           now: datetime | None = None, online: Online | None = None, receipt: Any = None,
           log_key: Any = None) -> Result:
    now = now or datetime.now(UTC)
    res = Result()
    pkeys = _keys(platform_jwks)
    try:
        parsed = jws.parse(token)
    except jws.JWSError as e:
        res.add("signature", False, f"not a usable certificate: {e}")
        for name in CHECKS[1:]:
            res.add(name, False, "not checked: the certificate could not be read")
        return res
    cred = parsed.payload
    res.credential = cred
    key = pkeys.get(parsed.kid)
    if parsed.header.get("typ") != "vc+jwt":
        res.add("signature", False, f"header typ is {parsed.header.get('typ')!r}, not 'vc+jwt'")
    elif key is None:
        res.add("signature", False, f"signed with unknown key id {parsed.kid!r}")
    elif not parsed.verify_with(key):
        res.add("signature", False, "the signature does not verify with the platform key")
    else:
        res.add("signature", True, f"EdDSA signature verified with key {parsed.kid}")
    if key is None:
        res.add("key_status", False, "the key id is not in the platform JWKS")
    else:
        res.add("key_status", key.get("status", "active") in ("active", "retired"),
                f"platform key {parsed.kid} is {key.get('status', 'active')}")
    _validity(res, cred, now)
    _revocation(res, cred, status_list, pkeys, online)
    if online and online.log:
        res.add("log_inclusion", *online.log(token, receipt))
    else:
        from ..tlog.receipts import check

        ok, detail, _, _ = check(token, receipt, log_key)
        res.add("log_inclusion", ok, detail)
    _attestations(res, cred, insurer_jwks or {})
    _amounts(res, cred)
    if online and online.policies_current:
        ok, detail = online.policies_current(cred.get("credentialSubject") or {})
        res.add("policies_current", ok, detail)
    else:
        res.add("policies_current", None, "not checked offline: needs the service's current policy records")
    return res


def _validity(res: Result, cred: dict, now: datetime) -> None:
    start, end = _time(cred.get("validFrom")), _time(cred.get("validUntil"))
    if start is None or end is None:
        res.add("validity_period", False, "validFrom and validUntil must be RFC 3339 date-times")
    elif now < start:
        res.add("validity_period", False, f"not yet valid: valid from {cred['validFrom']}")
    elif now > end:
        res.add("validity_period", False, f"expired on {cred['validUntil']}")
    else:
        res.add("validity_period", True, f"valid {cred['validFrom']} to {cred['validUntil']}")


def _revocation(res: Result, cred: dict, status_list: str | None, pkeys: dict, online: Online | None) -> None:
    st = cred.get("credentialStatus")
    if not isinstance(st, dict) or st.get("type") != "BitstringStatusListEntry" \
            or st.get("statusPurpose") != "revocation" or not INT.match(str(st.get("statusListIndex", ""))):
        res.add("revocation", False, "credentialStatus is not a revocation BitstringStatusListEntry")
        return
    index = int(st["statusListIndex"])
    if online and online.revocation:
        known = online.revocation(str(cred.get("id")))
        if known is not None:
            revoked, reason = known
            res.add("revocation", not revoked, f"revoked: {reason}" if revoked else "not revoked")
            return
    if not status_list:
        res.add("revocation", False, "no status list available to check revocation")
        return
    try:
        sl = jws.parse(status_list)
    except jws.JWSError as e:
        res.add("revocation", False, f"the status list credential is unusable: {e}")
        return
    key = pkeys.get(sl.kid)
    if key is None or not sl.verify_with(key) or sl.header.get("typ") != "vc+jwt":
        res.add("revocation", False, "the status list credential is not signed by a platform key")
        return
    subject = sl.payload.get("credentialSubject") or {}
    if sl.payload.get("id") != st.get("statusListCredential") or subject.get("statusPurpose") != "revocation":
        res.add("revocation", False, "the status list is not the one this certificate names")
        return
    try:
        bits = bitstring.decode(subject.get("encodedList"))
        revoked = bitstring.get(bits, index)
    except (ValueError, OSError, IndexError, EOFError):
        res.add("revocation", False, "the status list cannot be decoded")
        return
    res.add("revocation", not revoked, "revoked (status list bit set)" if revoked
            else f"not revoked (status list {st['statusListCredential']}, index {index})")


def _attestations(res: Result, cred: dict, insurer_jwks: dict) -> None:
    subject = cred.get("credentialSubject")
    coverage = subject.get("coverage") if isinstance(subject, dict) else None
    if not isinstance(coverage, list):
        res.add("insurer_attestations", False, "credentialSubject.coverage is missing")
        return
    problems = []
    for i, entry in enumerate(coverage):
        problems += [f"coverage[{i}]: {p}" for p in _attestation(entry, subject, insurer_jwks)]
    res.add("insurer_attestations", not problems, "; ".join(problems) if problems
            else f"{len(coverage)} attestation(s) verified with the insurers' keys")


def _attestation(entry: Any, subject: dict, insurer_jwks: dict) -> list[str]:
    if not isinstance(entry, dict) or not isinstance(entry.get("insurer"), dict):
        return ["malformed coverage entry"]
    try:
        att = jws.parse(entry.get("attestation"))
    except jws.JWSError as e:
        return [f"attestation unusable: {e}"]
    urn = entry["insurer"].get("id")
    keys = _keys(insurer_jwks.get(urn)) if urn in insurer_jwks else _keys(insurer_jwks.get("*"))
    key = keys.get(att.kid)
    if key is None:
        return [f"attestation key {att.kid!r} is not among insurer {urn}'s keys"]
    if not att.verify_with(key):
        return ["attestation signature does not verify"]
    body, out = att.payload, []
    for mine, theirs in (("policyNumber", "policyNumber"), ("currency", "currency")):
        if body.get(theirs) != entry.get(mine):
            out.append(f"attestation {theirs} {body.get(theirs)!r} differs from the coverage {entry.get(mine)!r}")
    if body.get("insured") != subject.get("id"):
        out.append("the attestation names another insured")
    lim, alloc = str(body.get("limit", "")), str(entry.get("allocated", ""))
    if not (INT.match(lim) and INT.match(alloc)) or int(alloc) > int(lim):
        out.append("allocated exceeds the attested limit")
    return out


def _amounts(res: Result, cred: dict) -> None:
    s = cred.get("credentialSubject")
    if not isinstance(s, dict) or not isinstance(s.get("coverage"), list):
        res.add("amounts", False, "credentialSubject is missing")
        return
    values = [s.get("obligation"), s.get("insuranceOffset"), s.get("netReserveRequired")]
    eligible = [c.get("eligibleOffset") if isinstance(c, dict) else None for c in s["coverage"]]
    if not all(isinstance(v, str) and INT.match(v) for v in values + eligible):
        res.add("amounts", False, "amounts must be strings of non-negative integer minor units")
        return
    ob, off, net = (int(v) for v in values)
    total = sum(int(e) for e in eligible)
    if total != off:
        res.add("amounts", False, f"insuranceOffset {off} is not the sum of eligibleOffset ({total})")
    elif ob - off != net:
        res.add("amounts", False, f"netReserveRequired {net} is not obligation {ob} - insuranceOffset {off}")
    else:
        res.add("amounts", True, f"offset {off} = sum of coverage; net reserve {net} = {ob} - {off}")

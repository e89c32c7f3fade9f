"""Verify a certificate JWS against keys and a status list that the caller supplies.

Online callers add what only the service knows (revocation reasons, whether policies are current);
offline callers pass the bundle's JWKS and status list. Every check has a plain-words detail; nothing
here raises on bad input: the payload's shape is checked first (schema.py) and a check whose fields
are malformed fails by name without running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..crypto import jws
from ..tlog.receipts import check as receipt_check
from . import schema, statuslist

CHECKS = ("signature", "key_status", "validity_period", "revocation", "log_inclusion", "insurer_attestations",
          "amounts", "policies_current")
ATTESTATION_TYP = "attestation+jwt"
# what an attestation's typ may say: its own type, or the generic one or none (JOSE libraries write "JWT" by
# default, or nothing); never another document's type, such as a certificate's or a status list's vc+jwt
ATTESTATION_TYPS = frozenset({ATTESTATION_TYP, "jwt"})


def attestation_typ_ok(header: dict) -> bool:
    typ = header.get("typ")
    return typ is None or jws.media_type(typ) in ATTESTATION_TYPS


@dataclass
class Online:
    revocation: Callable[[str], tuple[bool, str] | None] | None = None   # cert urn -> (revoked, reason)
    policies_current: Callable[[dict], tuple[bool, str]] | None = None    # credential subject -> verdict
    log: Callable[[str, Any], tuple[bool, str]] | None = None             # (jws, receipt) -> verdict
    # remembers signature checks of documents many certificates share (status lists, attestations):
    # a mapping with get/put keyed by (key, signature, signed bytes), see crypto.keys.verify_signature_memo
    signatures: Any = None


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


def verdict(result: Result) -> str:
    """One word for a result, as the verify page leads with it: "valid"; "revoked" when the signature
    holds and the revocation check says revoked; otherwise "invalid"."""
    if result.valid:
        return "valid"
    by_name = {c["name"]: c for c in result.checks}
    revocation = by_name.get("revocation", {})
    signed = bool(by_name.get("signature", {}).get("ok"))
    revoked = signed and revocation.get("ok") is False and str(revocation.get("detail", "")).startswith("revoked")
    return "revoked" if revoked else "invalid"


def unreadable(reason: str) -> Result:
    """Every check failed, the first with the reason: for input that is not a certificate at all."""
    res = Result()
    res.add("signature", False, reason)
    for name in CHECKS[1:]:
        res.add(name, False, "not checked: the certificate could not be read")
    return res


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t  # naive means UTC here


def _keys(jwks: Any) -> dict[str, dict]:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        return {}
    return {k["kid"]: k for k in jwks["keys"] if isinstance(k, dict) and isinstance(k.get("kid"), str)}


def verify(token: Any, platform_jwks: Any, insurer_jwks: Any = None, status_list: Any = None,
           now: datetime | None = None, online: Online | None = None, receipt: Any = None,
           log_key: Any = None, allow_stale: bool = False, status_fetched_at: datetime | None = None,
           parsed: jws.Parsed | None = None, problems: schema.Problems | None = None) -> Result:
    """Run every check. Offline only (online the list is current): `status_fetched_at` is when the status
    list was fetched, if known; `allow_stale` accepts a list past its ttl. A caller that already parsed
    `token` (jws.parse) and checked its payload (schema.problems) passes both, so neither runs twice."""
    now = _aware(now) or datetime.now(UTC)
    status_fetched_at = _aware(status_fetched_at)
    if parsed is None:
        try:
            parsed = jws.parse(token)
        except jws.JWSError as e:
            return unreadable(f"not a usable certificate: {e}")
        problems = None
    token = token.strip()  # parse() strips too; the log entry is the bare JWS
    cred, pkeys = parsed.payload, _keys(platform_jwks)
    bad = schema.problems(cred) if problems is None else problems
    key = pkeys.get(parsed.kid) if parsed.kid else None
    insurers = insurer_jwks if isinstance(insurer_jwks, dict) else {}
    memo = online.signatures if online else None
    res = Result(credential=cred)
    add = res.add
    add("signature", *_signature(parsed, key, bad.get("signature")))
    if not bad:  # the usual case: every check runs, in CHECKS order
        subject = cred["credentialSubject"]
        done = (_key_status(parsed.kid, key), _validity(cred, now),
                _revocation(cred, status_list, pkeys, online, now, allow_stale, status_fetched_at, memo),
                _log(token, receipt, log_key, online), _attestations(subject, insurers, memo), _amounts(subject),
                _policies(subject, online))
        res.checks += [{"name": name, "ok": ok, "detail": detail} for name, (ok, detail) in zip(CHECKS[1:], done,
                                                                                               strict=True)]
        return res
    steps = {
        "key_status": lambda: _key_status(parsed.kid, key),
        "validity_period": lambda: _validity(cred, now),
        "revocation": lambda: _revocation(cred, status_list, pkeys, online, now, allow_stale, status_fetched_at,
                                          memo),
        "log_inclusion": lambda: _log(token, receipt, log_key, online),
        "insurer_attestations": lambda: _attestations(cred["credentialSubject"], insurers, memo),
        "amounts": lambda: _amounts(cred["credentialSubject"]),
        "policies_current": lambda: _policies(cred["credentialSubject"], online),
    }
    for name in CHECKS[1:]:
        if name in bad:
            add(name, False, "malformed certificate: " + schema.summary(bad[name]))
        else:
            add(name, *steps[name]())
    return res


def _signature(parsed: jws.Parsed, key: dict | None, problems: list[str] | None) -> tuple[bool, str]:
    typ = parsed.header.get("typ")
    if jws.media_type(typ) != "vc+jwt":
        ok, detail = False, f"header typ is {jws.brief(typ)}, not 'vc+jwt'"
    elif parsed.kid is None:
        ok, detail = False, "the header names no signing key (kid)"
    elif key is None:
        ok, detail = False, f"signed with unknown key id {jws.brief(parsed.kid)}"
    elif not parsed.verify_with(key):
        ok, detail = False, "the signature does not verify with the platform key"
    else:
        ok, detail = True, f"EdDSA signature verified with key {parsed.kid}"
    if problems:  # what is signed is not a certificate: never ok, whoever signed it
        return False, f"{detail}{', but' if ok else ';'} the signed document is not a well-formed certificate: " \
            + schema.summary(problems)
    return ok, detail


def _key_status(kid: str | None, key: dict | None) -> tuple[bool, str]:
    if key is None:
        return False, "the key id is not in the platform JWKS"
    status = key.get("status", "active")
    shown = status if isinstance(status, str) and status.isalnum() and len(status) <= 20 else jws.brief(status)
    return status in ("active", "retired"), f"platform key {kid} is {shown}"


def _validity(cred: dict, now: datetime) -> tuple[bool, str]:
    start, end = schema.parse_time(cred["validFrom"]), schema.parse_time(cred["validUntil"])
    if now < start:
        return False, f"not yet valid: valid from {cred['validFrom']}"
    if now > end:
        return False, f"expired on {cred['validUntil']}"
    return True, f"valid {cred['validFrom']} to {cred['validUntil']}"


def _revocation(cred: dict, status_list: Any, pkeys: dict, online: Online | None, now: datetime,
                allow_stale: bool, fetched_at: datetime | None, memo: Any = None) -> tuple[bool | None, str]:
    entry = cred["credentialStatus"]
    if online and online.revocation:
        known = online.revocation(cred["id"])
        if known is not None:
            revoked, reason = known
            return not revoked, f"revoked: {reason}" if revoked else "not revoked"
    return statuslist.check(status_list, entry, int(entry["statusListIndex"]), pkeys, now, allow_stale, fetched_at,
                            memo)


def _log(token: str, receipt: Any, log_key: Any, online: Online | None) -> tuple[bool, str]:
    if online and online.log:
        return online.log(token, receipt)
    ok, detail, _, _ = receipt_check(token, receipt, log_key)
    return ok, detail


def _attestations(subject: dict, insurer_jwks: dict, memo: Any = None) -> tuple[bool, str]:
    coverage, problems, keyring = subject["coverage"], [], {}
    for i, entry in enumerate(coverage):
        problems += [f"coverage[{i}]: {p}" for p in _attestation(entry, subject, insurer_jwks, keyring, memo)]
    if problems:
        return False, schema.summary(problems, 10)
    return True, f"{len(coverage)} attestation(s) verified with the insurers' keys"


def _attestation(entry: dict, subject: dict, insurer_jwks: dict, keyring: dict, memo: Any = None) -> list[str]:
    try:
        att = jws.parse_shared(entry["attestation"])
    except jws.JWSError as e:
        return [f"attestation unusable: {e}"]
    if not attestation_typ_ok(att.header):  # a JWS the insurer signed for another purpose
        return [f"attestation header typ is {jws.brief(att.header.get('typ'))}, not '{ATTESTATION_TYP}'"]
    urn = entry["insurer"]["id"]
    keys = keyring.get(urn)
    if keys is None:  # once per insurer in this certificate
        keys = keyring[urn] = _keys(insurer_jwks.get(urn)) if urn in insurer_jwks else _keys(insurer_jwks.get("*"))
    key = keys.get(att.kid) if att.kid else None
    if key is None:
        if urn not in insurer_jwks and "*" not in insurer_jwks:  # offline without --insurer-jwks, say
            return [f"no keys of insurer {jws.brief(urn)} were given, so its attestation cannot be checked"]
        return [f"attestation key {jws.brief(att.kid)} is not among insurer {urn}'s keys"]
    if not att.verify_with(key, memo):
        return ["attestation signature does not verify"]
    body, out = att.payload, []
    for name in ("policyNumber", "currency"):
        if body.get(name) != entry[name]:
            out.append(f"attestation {name} {jws.brief(body.get(name))} differs from the coverage "
                       f"{jws.brief(entry[name])}")
    if body.get("insured") != subject["id"]:
        out.append("the attestation names another insured")
    limit = body.get("limit")
    if not (isinstance(limit, str) and schema.INT.fullmatch(limit)) or int(entry["allocated"]) > int(limit):
        out.append("allocated exceeds the attested limit")
    return out


def _amounts(s: dict) -> tuple[bool, str]:
    ob, off, net = int(s["obligation"]), int(s["insuranceOffset"]), int(s["netReserveRequired"])
    total = 0
    for c in s["coverage"]:
        total += int(c["eligibleOffset"])
    if total != off:
        return False, f"insuranceOffset {off} is not the sum of eligibleOffset ({total})"
    if ob - off != net:
        return False, f"netReserveRequired {net} is not obligation {ob} - insuranceOffset {off}"
    return True, f"offset {off} = sum of coverage; net reserve {net} = {ob} - {off}"


def _policies(subject: dict, online: Online | None) -> tuple[bool | None, str]:
    if online and online.policies_current:
        return online.policies_current(subject)
    return None, "not checked offline: needs the service's current policy records"

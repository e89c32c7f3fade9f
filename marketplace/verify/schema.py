"""The certificate's shape (DESIGN 5), checked before any verification check reads a field.

Each field is attributed to the checks that rely on it: a wrong-typed field fails those checks by name
with its path, and no check ever sees a value of an unexpected type. Fields that no check reads are
attributed to `signature` (what is signed is then not a certificate). Plain code on purpose: the
input is hostile and this also runs offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

MISSING = object()
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
INT = re.compile(r"0|[1-9][0-9]{0,30}")
RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
                     r"([Zz]|[+-][0-9]{2}:[0-9]{2})")
URL = re.compile(r"https?://[^\s]+")
MAX_COVERAGE = 1000
V2 = "https://www.w3.org/ns/credentials/v2"

DOC = ("signature",)
SUBJECT = ("insurer_attestations", "amounts", "policies_current")
POLICY = ("insurer_attestations", "policies_current")

Rule = Callable[[Any], "str | None"]  # value -> what is wrong with it, or None


def kind(v: Any) -> str:
    for t, name in ((bool, "a boolean"), (str, "a string"), (int, "a number"), (Decimal, "a number"),
                    (float, "a number"), (list, "a list"), (dict, "an object")):
        if isinstance(v, t):
            return name
    return "null" if v is None else type(v).__name__


def text(limit: int = 200, pattern: re.Pattern | None = None, hint: str = "", strict: bool = True) -> Rule:
    """A bounded string. Free text the platform signed long ago (names, policy numbers) may hold control
    characters that older input checks let through: only NUL, which no database stores, is refused."""
    def rule(v):
        if not isinstance(v, str):
            return f"must be a string, not {kind(v)}"
        if not 0 < len(v) <= limit:
            return f"must be 1 to {limit} characters"
        bad = (not v.isprintable() and CONTROL.search(v)) if strict else "\x00" in v  # printable: no controls
        if bad:
            return "must not contain control characters" if strict else "must not contain NUL"
        if pattern is not None and not pattern.fullmatch(v):
            return f"must be {hint}"
        return None
    return rule


def const(value: str) -> Rule:
    return lambda v: None if v == value else f"must be {value!r}"


def obj(v) -> str | None:
    return None if isinstance(v, dict) else f"must be an object, not {kind(v)}"


def _parses(fn: Callable[[str], Any], base: Rule, what: str) -> Rule:
    def rule(v):
        problem = base(v)
        if problem is None:
            try:
                fn(v)
            except ValueError:
                return f"must be {what}"
        return problem
    return rule


def parse_time(v: str) -> datetime:
    return datetime.fromisoformat(v.upper().replace("Z", "+00:00"))


TIME = _parses(parse_time, text(40, RFC3339, "an RFC 3339 date-time with offset"), "an RFC 3339 date-time")
DATE = _parses(date.fromisoformat, text(10, re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "a date YYYY-MM-DD"), "a date")
AMOUNT = text(31, INT, "a string of non-negative integer minor units")
CURRENCY = text(3, re.compile(r"[A-Z]{3}"), "a three-letter currency code")
HTTP_URL = text(2048, URL, "an http(s) URL")
FREE = text(strict=False)
TEXT = text()
URL_TEXT = text(2048)
URN_UUID = text(100, re.compile(r"urn:uuid:[0-9A-Za-z-]+"), "urn:uuid:<id>")
STATUS_ID = text(2100)
ENTRY_TYPE = const("BitstringStatusListEntry")
REVOCATION = const("revocation")
LIST_INDEX = text(9, re.compile(r"[0-9]+"), "a string of at most 9 decimal digits")
RULESET_TEXT = text(100, strict=False)
DIGEST = text(71, re.compile(r"sha256:[0-9a-f]{64}"), "sha256:<64 hex digits>")
ATTESTATION = text(64 * 1024)


def _strings(v) -> str | None:
    if not isinstance(v, list) or not v or len(v) > 20:
        return f"must be a list of 1 to 20 strings, not {kind(v)}"
    return next((f"[{i}] {p}" for i, x in enumerate(v) if (p := URL_TEXT(x))), None)


def _context(v) -> str | None:
    return _strings(v) or (None if v[0] == V2 else f"must start with {V2!r}")


def _type(v) -> str | None:
    return _strings(v) or (None if {"VerifiableCredential", "ReserveOffsetCertificate"} <= set(v)
                           else "must name VerifiableCredential and ReserveOffsetCertificate")


class Problems(dict):
    """{check name: ["path problem", ...]}"""

    def need(self, checks: tuple[str, ...], path: str, parent: dict, key: str, rule: Rule) -> bool:
        value = parent.get(key, MISSING)
        problem = "is missing" if value is MISSING else rule(value)
        if problem:
            for name in checks:
                self.setdefault(name, []).append(f"{path} {problem}")
        return problem is None


def problems(cred: dict) -> Problems:
    """What is wrong with a decoded certificate payload, per check (empty when well-formed)."""
    out = Problems()
    out.need(DOC, "@context", cred, "@context", _context)
    out.need(DOC, "type", cred, "type", _type)
    out.need(("revocation",), "id", cred, "id", URN_UUID)
    out.need(DOC, "issuer", cred, "issuer", HTTP_URL)
    out.need(("validity_period",), "validFrom", cred, "validFrom", TIME)
    out.need(("validity_period",), "validUntil", cred, "validUntil", TIME)
    if out.need(SUBJECT, "credentialSubject", cred, "credentialSubject", obj):
        _subject(out, cred["credentialSubject"])
    if out.need(("revocation",), "credentialStatus", cred, "credentialStatus", obj):
        st, p = cred["credentialStatus"], "credentialStatus."
        out.need(("revocation",), p + "id", st, "id", STATUS_ID)
        out.need(("revocation",), p + "type", st, "type", ENTRY_TYPE)
        out.need(("revocation",), p + "statusPurpose", st, "statusPurpose", REVOCATION)
        out.need(("revocation",), p + "statusListIndex", st, "statusListIndex", LIST_INDEX)
        out.need(("revocation",), p + "statusListCredential", st, "statusListCredential", HTTP_URL)
    return out


def _coverage(v) -> str | None:
    return None if isinstance(v, list) and len(v) <= MAX_COVERAGE \
        else f"must be a list of at most {MAX_COVERAGE} entries, not {kind(v)}"


def _subject(out: Problems, s: dict) -> None:
    p = "credentialSubject."
    out.need(("insurer_attestations",), p + "id", s, "id", TEXT)
    for key in ("name", "licenseNumber", "jurisdiction"):
        out.need(DOC, p + key, s, key, FREE)
    if out.need(DOC, p + "period", s, "period", obj):
        for key in ("start", "end"):
            out.need(DOC, f"{p}period.{key}", s["period"], key, DATE)
    if out.need(DOC, p + "ruleset", s, "ruleset", obj):
        out.need(DOC, p + "ruleset.id", s["ruleset"], "id", RULESET_TEXT)
        out.need(DOC, p + "ruleset.version", s["ruleset"], "version", RULESET_TEXT)
        out.need(DOC, p + "ruleset.digest", s["ruleset"], "digest", DIGEST)
    out.need(("amounts",), p + "currency", s, "currency", CURRENCY)
    for key in ("obligation", "insuranceOffset", "netReserveRequired"):
        out.need(("amounts",), p + key, s, key, AMOUNT)
    if not out.need(SUBJECT, p + "coverage", s, "coverage", _coverage):
        return
    for i, entry in enumerate(s["coverage"]):
        at = f"{p}coverage[{i}]"
        if not out.need(SUBJECT, at, {"_": entry}, "_", obj):
            continue
        out.need(POLICY, at + ".policyNumber", entry, "policyNumber", FREE)
        if out.need(POLICY, at + ".insurer", entry, "insurer", obj):
            out.need(POLICY, at + ".insurer.id", entry["insurer"], "id", TEXT)
            out.need(DOC, at + ".insurer.name", entry["insurer"], "name", FREE)
        out.need(("insurer_attestations",), at + ".currency", entry, "currency", CURRENCY)
        out.need(("insurer_attestations",), at + ".allocated", entry, "allocated", AMOUNT)
        out.need(("amounts",), at + ".eligibleOffset", entry, "eligibleOffset", AMOUNT)
        out.need(POLICY, at + ".attestation", entry, "attestation", ATTESTATION)


def summary(found: list[str], shown: int = 3) -> str:
    more = f" (and {len(found) - shown} more)" if len(found) > shown else ""
    return "; ".join(found[:shown]) + more

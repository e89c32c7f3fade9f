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
from functools import lru_cache
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
    if type(v) is str and len(v) <= 40:  # every certificate of a period carries the same few times
        return _parse_time_cached(v)
    return _parse_time(v)


def _parse_time(v: str) -> datetime:
    return datetime.fromisoformat(v.upper().replace("Z", "+00:00"))


_parse_time_cached = lru_cache(maxsize=512)(_parse_time)  # a pure function of a short text; errors are not kept


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
    if well_formed(cred):  # the usual case, answered without building a problem per field
        return out
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


_DIGITS = re.compile(r"[0-9]{1,9}")
_CODE = re.compile(r"[A-Z]{3}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_URN_UUID = re.compile(r"urn:uuid:[0-9A-Za-z-]+")


def _strict(v, limit: int, pattern: re.Pattern | None = None) -> bool:
    """text(limit, pattern) holds (conservatively: a non-printable string without controls says False)."""
    return type(v) is str and 0 < len(v) <= limit and v.isprintable() and \
        (pattern is None or pattern.fullmatch(v) is not None)


def _time(v) -> bool:
    return type(v) is str and len(v) <= 40 and _time_ok(v)


@lru_cache(maxsize=512)  # a pure function of a short text; every certificate of a period has the same few
def _time_ok(v: str) -> bool:
    if not RFC3339.fullmatch(v):
        return False
    try:
        _parse_time(v)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=512)
def _day_ok(v: str) -> bool:
    if not _DAY.fullmatch(v):
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _day(v) -> bool:
    return type(v) is str and len(v) == 10 and _day_ok(v)


def _texts(v) -> bool:
    """_strings() holds (conservatively, as _strict): a list of 1 to 20 printable strings of 1 to 2048."""
    return type(v) is list and 0 < len(v) <= 20 and all(_strict(x, 2048) for x in v)


def well_formed(cred) -> bool:
    """True only when problems() finds nothing, checked in one pass with no per-field bookkeeping (the
    verifier's hot path). Conservative: False sends the caller to problems()' field-by-field answer, which
    has the last word. Each line mirrors a rule above; tests/unit/test_perf_verify_schema.py holds the two
    together. Patterns made of digits, letters and punctuation only imply the printable and length checks."""
    if type(cred) is not dict:
        return False
    g, str_, dict_ = cred.get, str, dict
    ctx, types, st, s = g("@context"), g("type"), g("credentialStatus"), g("credentialSubject")
    if not (_texts(ctx) and ctx[0] == V2 and _texts(types)
            and "VerifiableCredential" in types and "ReserveOffsetCertificate" in types
            and _strict(g("id"), 100, _URN_UUID) and _strict(g("issuer"), 2048, URL)
            and _time(g("validFrom")) and _time(g("validUntil"))
            and type(st) is dict_ and _strict(st.get("id"), 2100) and st.get("type") == "BitstringStatusListEntry"
            and st.get("statusPurpose") == "revocation" and _strict(st.get("statusListIndex"), 9, _DIGITS)
            and _strict(st.get("statusListCredential"), 2048, URL) and type(s) is dict_):
        return False
    sg, amount, code = s.get, INT.fullmatch, _CODE.fullmatch
    sid, name, lic, juris, period, ruleset = (sg("id"), sg("name"), sg("licenseNumber"), sg("jurisdiction"),
                                             sg("period"), sg("ruleset"))
    cur, ob, off, net, coverage = (sg("currency"), sg("obligation"), sg("insuranceOffset"),
                                   sg("netReserveRequired"), sg("coverage"))
    if not (type(sid) is str_ and 0 < len(sid) <= 200 and sid.isprintable()
            and type(name) is str_ and 0 < len(name) <= 200 and "\x00" not in name
            and type(lic) is str_ and 0 < len(lic) <= 200 and "\x00" not in lic
            and type(juris) is str_ and 0 < len(juris) <= 200 and "\x00" not in juris
            and type(period) is dict_ and _day(period.get("start")) and _day(period.get("end"))
            and type(ruleset) is dict_ and _strict(ruleset.get("digest"), 71, _DIGEST)):
        return False
    rid, version = ruleset.get("id"), ruleset.get("version")
    if not (type(rid) is str_ and 0 < len(rid) <= 100 and "\x00" not in rid
            and type(version) is str_ and 0 < len(version) <= 100 and "\x00" not in version
            and type(cur) is str_ and len(cur) == 3 and code(cur)
            and type(ob) is str_ and len(ob) <= 31 and amount(ob)
            and type(off) is str_ and len(off) <= 31 and amount(off)
            and type(net) is str_ and len(net) <= 31 and amount(net)
            and type(coverage) is list and len(coverage) <= MAX_COVERAGE):
        return False
    for e in coverage:
        if type(e) is not dict_:
            return False
        eg = e.get
        number, insurer, cur, alloc, elig, att = (eg("policyNumber"), eg("insurer"), eg("currency"),
                                                  eg("allocated"), eg("eligibleOffset"), eg("attestation"))
        if type(insurer) is not dict_:
            return False
        iid, iname = insurer.get("id"), insurer.get("name")
        if not (type(number) is str_ and 0 < len(number) <= 200 and "\x00" not in number
                and type(iid) is str_ and 0 < len(iid) <= 200 and iid.isprintable()
                and type(iname) is str_ and 0 < len(iname) <= 200 and "\x00" not in iname
                and type(cur) is str_ and len(cur) == 3 and code(cur)
                and type(alloc) is str_ and len(alloc) <= 31 and amount(alloc)
                and type(elig) is str_ and len(elig) <= 31 and amount(elig)
                and type(att) is str_ and 0 < len(att) <= 64 * 1024 and att.isprintable()):
            return False
    return True

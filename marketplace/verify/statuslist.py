"""The revocation check against a Bitstring Status List credential, and whether that list is fresh.

A verifier is never green on what it could not check (DESIGN 7): a list past its `validUntil`, or
older than its `ttl` since it was fetched, gives "status unknown" unless the caller accepts a stale
list. A set bit is final, stale or not. The fetch time (a bundle's, a file's) is not signed, so it
counts only within what the service could have served: from the list's `validFrom` to one ttl later
(a forged fetch time gains at most one ttl); without one, `validFrom` is the fetch time.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from ..crypto import bitstring, jws
from .schema import parse_time

MAX_TTL_MS = 10 * 365 * 86_400_000
UNKNOWN = "status unknown: "


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value) -> datetime | None:
    try:
        t = parse_time(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        return None
    return t if t is not None and t.tzinfo else None


@lru_cache(maxsize=64)
def _milliseconds(ttl: int) -> timedelta:
    """timedelta(milliseconds=ttl), which costs big-integer divisions: a list's ttl is the same every time."""
    return timedelta(milliseconds=ttl)


def staleness(body: dict, subject: dict, now: datetime, fetched_at: datetime | None = None) -> str | None:
    """None while the list is current; otherwise why it is not, in words."""
    if "validUntil" in body:
        until = _time(body["validUntil"])
        if until is None:
            return f"its validUntil {jws.brief(body['validUntil'])} is not a date-time"
        if now > until:
            return f"valid until {_rfc3339(until)}"
    ttl = subject.get("ttl", body.get("ttl"))  # W3C puts ttl in the subject; this service at the top
    if ttl is None:
        return None  # the issuer set no time to live (validUntil, if any, was checked above)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= MAX_TTL_MS:
        return f"its ttl {jws.brief(ttl)} is not a positive number of milliseconds"
    signed = _time(body.get("validFrom"))
    if signed is None:
        return "it has a ttl but no validFrom to count it from"
    try:
        life = _milliseconds(ttl)
        fetched = signed if fetched_at is None else max(signed, min(fetched_at, signed + life))
        expires = fetched + life
    except OverflowError:
        return None
    if now > expires:
        return f"fetched {_rfc3339(fetched)}, ttl {ttl / 1000:g} s; stale since {_rfc3339(expires)}"
    return None


def check(status_list, entry: dict, index: int, pkeys: dict, now: datetime, allow_stale: bool = False,
          fetched_at: datetime | None = None, memo=None) -> tuple[bool | None, str]:
    """(ok, detail) for bit `index` of the list the certificate's credentialStatus `entry` names. `memo`
    remembers the list's signature check (one list serves many certificates; see jws.Parsed.verify_with)."""
    if not status_list:
        return False, UNKNOWN + "no status list was given (it could not be read or fetched)"
    try:
        sl = jws.parse_shared(status_list)
    except jws.JWSError as e:
        return False, UNKNOWN + f"the status list credential is unusable: {e}"
    key = pkeys.get(sl.kid) if sl.kid else None
    if sl.kid is None:
        return False, UNKNOWN + "the status list names no signing key (kid)"
    if key is None:
        return False, UNKNOWN + (f"the status list is signed by key {sl.kid}, which is not in the given JWKS "
                                 "(rotated? fetch the current JWKS)")
    if jws.media_type(sl.header.get("typ")) != "vc+jwt":
        return False, UNKNOWN + f"the status list's header typ is {jws.brief(sl.header.get('typ'))}, not 'vc+jwt'"
    if not sl.verify_with(key, memo):
        return False, UNKNOWN + f"the status list's signature does not verify with platform key {sl.kid}"
    body, url = sl.payload, entry["statusListCredential"]
    subject = body.get("credentialSubject")
    types = body.get("type") if isinstance(body.get("type"), list) else []
    if body.get("id") != url or not isinstance(subject, dict) or subject.get("statusPurpose") != "revocation" \
            or "BitstringStatusListCredential" not in types:
        return False, UNKNOWN + f"the status list given is not the revocation list this certificate names ({url})"
    try:
        revoked = bitstring.get(bitstring.decode(subject.get("encodedList")), index)
    except (ValueError, OSError, IndexError, EOFError, zlib.error):
        return False, UNKNOWN + "the status list cannot be decoded"
    if revoked:
        return False, "revoked (status list bit set)"
    stale = staleness(body, subject, now, fetched_at)
    if stale is None:
        return True, f"not revoked (status list {url}, index {index})"
    if allow_stale:
        return None, f"not revoked according to a stale status list ({stale}); accepted as stale on request"
    return False, UNKNOWN + f"the status list is stale ({stale})"

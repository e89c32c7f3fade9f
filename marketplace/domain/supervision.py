"""Supervision (DESIGN 10): a regulator's systemic view over the exchanges it supervises.

Pure functions over what `evaluate_offset` takes for each exchange (a `Book`: its obligation, its
allocations, the reference rates and the rule-set it was computed under, and the cash it holds).

- `exposure`: per insurer, the eligible offset (after caps) it carries across every book, its share of
  all insurance offsets, how many exchanges depend on it (eligible offset > 0), and the largest share of
  any one exchange's obligation it covers.
- `scenario`: "these insurers fail". Their allocations are removed and each book is evaluated again with
  the SAME function, `domain.offset.evaluate_offset`: eligibility is never re-implemented and the
  rule-set's caps (per insurer, total insurance, the obligation itself) are re-applied to what remains.
  A failed insurer therefore never raises an offset: the before-cap amount of every other allocation is
  unchanged, and each cap is a minimum that can only fall when an addend is removed. Shortfall is
  `domain.adequacy.shortfall(net reserve after, cash held)` (>= 0; no reported cash counts as none).
- `status_at`: a certificate's status at an instant, read from its transparency-log entries only.

Shares are Decimal ratios, quantized to 6 decimal places with ROUND_HALF_EVEN (they are not money);
every amount stays integer minor units in the obligation's currency.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from .adequacy import shortfall
from .cover import Allocation
from .errors import DomainError
from .fx import FxRate
from .money import Money
from .obligation import Obligation
from .offset import Offset, evaluate_offset
from .rulesets import RuleSet

SHARE_PLACES = Decimal("0.000001")


def share(part: int, whole: int) -> Decimal:
    """part / whole as a Decimal with 6 places (banker's rounding); 0 when the whole is 0."""
    if whole <= 0:
        return Decimal(0).quantize(SHARE_PLACES)
    return (Decimal(part) / Decimal(whole)).quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Book:
    """One exchange's obligation with everything its offset is evaluated from."""

    exchange_id: str
    exchange_name: str
    obligation_id: str
    obligation: Obligation
    allocations: tuple[Allocation, ...]
    rates: tuple[FxRate, ...]
    ruleset: RuleSet
    cash_held: Money | None = None

    @property
    def currency(self) -> str:
        return self.obligation.currency

    def offset(self, failed: frozenset[str] = frozenset()) -> Offset:
        """The offset with the allocations of the failed insurers removed (none: the offset as it stands)."""
        kept = [a for a in self.allocations if a.policy.insurer.id not in failed]
        return evaluate_offset(self.obligation, kept, self.rates, self.ruleset)


def _currency(books: list[Book], default: str) -> str:
    found = {b.currency for b in books}
    if len(found) > 1:
        raise DomainError(f"obligations in more than one currency ({', '.join(sorted(found))}) cannot be summed")
    return found.pop() if found else default


@dataclass(frozen=True)
class InsurerExposure:
    insurer_id: str
    name: str
    eligible_offset: Money
    share_of_offsets: Decimal        # of all insurance offsets across the books
    exchanges: int                   # exchanges with an eligible offset from this insurer
    largest_share: Decimal           # of one exchange's obligation, the largest
    largest_exchange_id: str | None  # that exchange
    allocated_exchanges: int = 0     # exchanges with any allocation from it (eligible or not)


@dataclass(frozen=True)
class Exposure:
    currency: str
    total_offset: Money
    total_obligation: Money
    insurers: tuple[InsurerExposure, ...]


def exposure(books: list[Book], currency: str, offsets: list[Offset] | None = None) -> Exposure:
    """Per insurer exposure across the books (offsets as they stand; pass them if already evaluated)."""
    cur = _currency(books, currency)
    offsets = offsets if offsets is not None else [b.offset() for b in books]
    carried: dict[str, int] = {}
    names: dict[str, str] = {}
    depending: dict[str, set[str]] = {}
    touching: dict[str, set[str]] = {}
    largest: dict[str, tuple[Decimal, str | None]] = {}
    for book, off in zip(books, offsets, strict=True):
        names.update({a.policy.insurer.id: a.policy.insurer.name for a in book.allocations})
        here: dict[str, int] = {}
        for r in off.allocations:
            here[r.insurer_id] = here.get(r.insurer_id, 0) + r.eligible.amount
            touching.setdefault(r.insurer_id, set()).add(book.exchange_id)
        for insurer, amount in here.items():
            carried[insurer] = carried.get(insurer, 0) + amount
            if amount > 0:
                depending.setdefault(insurer, set()).add(book.exchange_id)
            s = share(amount, book.obligation.total.amount)
            best = largest.get(insurer)
            if amount > 0 and (best is None or s > best[0]):
                largest[insurer] = (s, book.exchange_id)
            elif best is None:
                largest[insurer] = (share(0, 1), None)
    total = sum(carried.values())
    rows = [InsurerExposure(i, names.get(i, i), Money(amount, cur), share(amount, total),
                            len(depending.get(i, ())), largest[i][0], largest[i][1], len(touching.get(i, ())))
            for i, amount in carried.items()]
    rows.sort(key=lambda r: (-r.eligible_offset.amount, r.name, r.insurer_id))
    return Exposure(cur, Money(total, cur), Money(sum(b.obligation.total.amount for b in books), cur), tuple(rows))


@dataclass(frozen=True)
class ScenarioRow:
    exchange_id: str
    exchange_name: str
    obligation_id: str
    period: str
    obligation: Money
    offset_before: Money
    offset_after: Money
    net_reserve_before: Money
    net_reserve_after: Money
    cash_held: Money | None
    shortfall_before: Money
    shortfall: Money

    @property
    def offset_lost(self) -> Money:
        return self.offset_before - self.offset_after


def scenario(books: list[Book], failed: frozenset[str] | set[str],
             before: list[Offset] | None = None) -> list[ScenarioRow]:
    """Every book before and after the failed insurers fail, sorted by shortfall (largest first), then by
    the offset lost (largest first), then by exchange name and id."""
    failed = frozenset(failed)
    before = before if before is not None else [b.offset() for b in books]
    rows = []
    for book, pre in zip(books, before, strict=True):
        post = book.offset(failed) if any(a.policy.insurer.id in failed for a in book.allocations) else pre
        rows.append(ScenarioRow(
            book.exchange_id, book.exchange_name, book.obligation_id, book.obligation.period.label,
            book.obligation.total, pre.total, post.total, pre.net_reserve, post.net_reserve, book.cash_held,
            shortfall(pre.net_reserve, book.cash_held), shortfall(post.net_reserve, book.cash_held)))
    rows.sort(key=lambda r: (-r.shortfall.amount, -(r.offset_before.amount - r.offset_after.amount),
                             r.exchange_name, r.exchange_id))
    return rows


# ---- certificate status at an instant, from the transparency log --------------------------------------

@dataclass(frozen=True)
class LogRecord:
    """A log entry about one certificate, as stored: its index, kind and bytes."""

    index: int
    kind: str  # issuance | revocation
    data: bytes


@dataclass(frozen=True)
class StatusAt:
    at: datetime
    status: str  # valid | revoked | not_yet_valid | expired | unknown
    detail: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    reason: str | None = None
    evidence: tuple[LogRecord, ...] = field(default_factory=tuple)  # the entries the answer rests on

    @property
    def valid(self) -> bool:
        return self.status == "valid"


def parse_time(text: str) -> datetime:
    """RFC 3339 (a 'Z' or an offset is required) as an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (TypeError, ValueError):
        raise DomainError(f"not an RFC 3339 time: {text!r}") from None
    if value.tzinfo is None:
        raise DomainError(f"an RFC 3339 time needs a time zone ('Z' or an offset): {text!r}")
    return _in_utc(value)


def _in_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; DomainError when that instant falls outside the calendar (years 1 to 9999)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise DomainError(f"{value.isoformat()} is not an instant in UTC's years 1 to 9999") from None


def _jws_payload(token: bytes) -> dict[str, Any]:
    parts = token.decode("ascii").split(".")
    if len(parts) != 3:
        raise DomainError("the issuance entry is not a compact JWS")
    body = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(body))


def status_at(records: list[LogRecord], at: datetime) -> StatusAt:
    """Valid or revoked at `at`, read from the certificate's log entries: the issuance entry (the signed
    credential: validFrom, validUntil) and the revocation entry, if any (its `time` and `reason`).

    The answer rests on the issuance entry, and on the revocation entry when there is one (revoked at or
    before `at`: it proves the revocation; after `at`: it shows when the certificate stopped being valid).
    """
    at = _in_utc(at)
    issuance = next((r for r in records if r.kind == "issuance"), None)
    if issuance is None:
        return StatusAt(at, "unknown", "the log holds no issuance entry for this certificate")
    credential = _jws_payload(issuance.data)
    start, end = parse_time(credential["validFrom"]), parse_time(credential["validUntil"])
    revocation = next((r for r in records if r.kind == "revocation"), None)
    revoked_at = reason = None
    if revocation is not None:
        entry = json.loads(revocation.data)
        revoked_at, reason = parse_time(entry["time"]), entry.get("reason")
    evidence = tuple(r for r in (issuance, revocation) if r is not None)
    common = {"valid_from": start, "valid_until": end, "revoked_at": revoked_at, "reason": reason,
              "evidence": evidence}
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if at < start:
        return StatusAt(at, "not_yet_valid", f"not yet valid at {stamp}: issued for {credential['validFrom']}",
                        **common)
    if revoked_at is not None and revoked_at <= at:
        return StatusAt(at, "revoked", f"revoked at {entry['time']}: {reason}", **common)
    if at > end:
        return StatusAt(at, "expired", f"expired at {credential['validUntil']}", **common)
    later = f"; revoked later, at {entry['time']}: {reason}" if revoked_at is not None else ""
    return StatusAt(at, "valid", f"valid at {stamp} (issued {credential['validFrom']}, "
                                 f"valid until {credential['validUntil']}){later}", **common)

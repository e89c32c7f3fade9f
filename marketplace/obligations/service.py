"""Computing and storing obligations. A recomputation on changed inputs or rule-set is a new revision."""

from __future__ import annotations

from sqlalchemy import select

from ..db import utcnow
from ..domain.errors import DomainError
from ..domain.facts import fingerprint
from ..domain.money import Money
from ..domain.obligation import Line, Obligation
from ..domain.obligation import compute_obligation as compute_domain
from ..domain.period import Period
from ..errors import NotFound, Unprocessable
from ..extensions import db
from ..registry.models import Exchange
from ..reports.service import facts_for
from ..rulesets import service as rulesets
from .models import ObligationRecord


def parse_period(label: str) -> Period:
    try:
        return Period.parse(label)
    except DomainError as e:
        raise Unprocessable(str(e), {"period": [str(e)]}) from None


def latest(exchange_id: str, period: str) -> ObligationRecord | None:
    return db.session.scalar(select(ObligationRecord).filter_by(exchange_id=exchange_id, period=period)
                             .order_by(ObligationRecord.revision.desc()).limit(1))


def compute(ex: Exchange, period_label: str, actor: str, ruleset_ref: str | None = None) -> ObligationRecord:
    """Compute the exchange's obligation; store it as a new revision unless nothing changed."""
    period = parse_period(period_label)
    if ruleset_ref:
        rs = rulesets.get(*rulesets.parse_ref(ruleset_ref))
        if rs.jurisdiction != ex.jurisdiction:
            raise Unprocessable(f"rule-set {rs.id} is for {rs.jurisdiction}, the exchange is in {ex.jurisdiction}",
                                {"ruleset": ["wrong jurisdiction"]})
    else:
        rs = rulesets.in_force(ex.jurisdiction, period.start)
    # One computation per exchange at a time: two racing ones would both write revision n + 1 (a unique
    # violation, answered 500). NO KEY UPDATE: reports referencing the exchange are not held up.
    db.session.execute(select(Exchange.org_id).where(Exchange.org_id == ex.org_id).with_for_update(key_share=True))
    facts = facts_for(ex)
    try:
        ob = compute_domain(facts, period, rs)
    except DomainError as e:
        raise Unprocessable(f"cannot compute the {period.label} obligation: {e}") from None
    inputs = fingerprint(facts)
    prev = latest(ex.org_id, period.label)
    if prev is not None and prev.ruleset_digest == rs.digest and prev.inputs_digest == inputs:
        return prev
    if prev is not None:
        prev.superseded_at = utcnow()
    row = ObligationRecord(
        exchange_id=ex.org_id, period=period.label, period_start=period.start, period_end=period.end,
        revision=(prev.revision + 1) if prev else 1, ruleset_id=rs.id, ruleset_version=rs.version,
        ruleset_digest=rs.digest, total=ob.total.amount, currency=ob.currency,
        lines=[ln.as_dict() for ln in ob.lines], inputs_digest=inputs, computed_by=actor)
    db.session.add(row)
    db.session.flush()
    from ..events import kinds
    from ..events import service as events

    events.record(kinds.ObligationComputed(
        obligation_id=row.id, exchange_id=ex.org_id, jurisdiction=ex.jurisdiction, period=row.period,
        revision=row.revision, total=ob.total.as_dict(), ruleset=f"{rs.id}@{rs.version}",
        previous_id=prev.id if prev else None), actor)
    if prev is not None:
        for hook in ON_RECOMPUTE:
            hook(prev, row)
    return row


def get(obligation_id: str) -> ObligationRecord:
    row = db.session.get(ObligationRecord, obligation_id)
    if row is None:
        raise NotFound(f"no obligation {obligation_id}")
    return row


def to_domain(row: ObligationRecord, jurisdiction: str | None = None) -> Obligation:
    """Rebuild the stored computation as a domain Obligation (for offset evaluation). `jurisdiction`: its
    rule-set's, when the caller has it (compute() refuses a rule-set of another jurisdiction than the
    exchange's, so the two are the same); otherwise read from the exchange."""
    lines = tuple(Line(d["component"], Money(int(d["amount"]["amount"]), d["amount"]["currency"]),
                       d["explanation"], d["inputs"], d["parameter"]) for d in row.lines)
    period = Period(row.period, row.period_start, row.period_end)
    ref = {"id": row.ruleset_id, "version": row.ruleset_version, "digest": row.ruleset_digest}
    if jurisdiction is None:
        jurisdiction = db.session.get(Exchange, row.exchange_id).jurisdiction
    return Obligation(row.exchange_id, jurisdiction, period, ref, Money(row.total, row.currency), lines)


# Filled by marketplace.allocations.service.install(): where allocations come from, what a recompute does.
ALLOCATION_SOURCES: list = []
ON_RECOMPUTE: list = []


def offset_for(row: ObligationRecord):
    """The offset report of a stored obligation under the rule-set it was computed with."""
    from ..fx import service as fx

    return offset_of(row, [a for source in ALLOCATION_SOURCES for a in source(row)], fx.rates(row.period_start))


def offset_of(row, allocations: list, rates: list):
    """(offset report, rule-set) of an obligation row (ObligationRecord's columns) from its allocations and reference
    rates, however they were read (offset_for; allocations.report reads all of it in one statement)."""
    from ..domain.offset import evaluate_offset

    rs = rulesets.get(row.ruleset_id, row.ruleset_version, row.ruleset_digest)
    return evaluate_offset(to_domain(row, rs.jurisdiction), allocations, rates, rs), rs


def what_if(row: ObligationRecord, target: Money, rating: str | None, currency: str | None) -> dict:
    from ..domain.fx import pick_rate
    from ..domain.whatif import what_if as compute_what_if
    from ..fx import service as fx

    offset, rs = offset_for(row)
    rate = None
    if currency and currency != row.currency:
        rate = pick_rate(fx.rates(row.period_start), currency, row.currency, row.period_start)
        if rate is None:
            raise Unprocessable(f"no reference rate {currency}/{row.currency} on or before {row.period_start}",
                                {"currency": ["no reference rate for this currency"]})
    try:
        result = compute_what_if(offset, target, rs, rating, currency, rate)
    except DomainError as e:
        raise Unprocessable(str(e), {"target_net_reserve": [str(e)]}) from None
    return {"obligation": row.id, "current_offset": offset.total.as_dict(),
            "current_net_reserve": offset.net_reserve.as_dict(), **result.as_dict()}

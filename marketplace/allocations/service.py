"""Attaching policy limit to obligations. The policy row is locked for the check-and-insert, so the
live allocations of a policy never exceed its limit, whatever runs concurrently."""

from __future__ import annotations

from sqlalchemy import func, select

from ..db import utcnow
from ..db.locking import lock_row
from ..domain import cover
from ..domain.money import Money
from ..errors import Conflict, NotFound, Unprocessable
from ..events import kinds
from ..events import service as events
from ..extensions import db
from ..obligations.models import ObligationRecord
from ..policies import service as policies
from ..policies.models import Policy
from ..registry import service as registry
from ..registry.models import Exchange
from .models import Allocation


def lock_policy(policy_id: str) -> Policy:
    """The policy, row-locked for the rest of the transaction."""
    p = lock_row(Policy, policy_id)
    if p is None:
        raise NotFound(f"no policy {policy_id}")
    return p


def attach(ob: ObligationRecord, policy_id: str, amount: Money, actor: str) -> Allocation:
    if ob.superseded_at is not None:
        raise Conflict("this obligation revision was superseded; attach cover to the current revision")
    p = lock_policy(policy_id)
    if p.insured_id != ob.exchange_id:
        raise NotFound(f"no policy {policy_id} insuring this exchange")
    errors = {}
    if p.status != "active":
        errors["policy"] = [f"the policy is {p.status}"]
    if p.term_end < ob.period_start or p.term_start > ob.period_end:
        errors["policy"] = [f"the policy term {p.term_start}..{p.term_end} does not touch the period "
                            f"{ob.period_start}..{ob.period_end}"]
    if amount.currency != p.currency:
        errors["amount/currency"] = [f"must be the policy currency {p.currency}"]
    if amount.amount <= 0:
        errors["amount/amount"] = ["must be positive"]
    if errors:
        raise Unprocessable("this cover cannot be attached", errors)
    used = live_allocated(p.id)
    remaining = max(0, p.limit_amount - used)
    if amount.amount > remaining:
        raise Conflict(f"only {Money(remaining, p.currency).format()} of the policy limit "
                       f"{Money(p.limit_amount, p.currency).format()} remains",
                       {"amount/amount": [f"at most {remaining}"]}, remaining=Money(remaining, p.currency).as_dict())
    a = Allocation(policy_id=p.id, obligation_id=ob.id, exchange_id=ob.exchange_id, amount=amount.amount,
                   currency=amount.currency, created_by=actor)
    db.session.add(a)
    db.session.flush()
    _record(kinds.AllocationAttached, a, p, actor)
    return a


def detach(a: Allocation, actor: str = "system") -> Allocation:
    if a.status != "live":
        raise Conflict("this allocation is already detached", current_state=a.status)
    p = lock_policy(a.policy_id)
    a.status, a.detached_at = "detached", utcnow()
    db.session.flush()
    flag_over_limit(p)
    _record(kinds.AllocationDetached, a, p, actor)
    return a


def _record(kind, a: Allocation, p: Policy, actor: str) -> None:
    ex = db.session.get(Exchange, a.exchange_id)
    events.record(kind(allocation_id=a.id, obligation_id=a.obligation_id, policy_id=p.id, policy_number=p.number,
                       exchange_id=a.exchange_id, insurer_id=p.insurer_id, jurisdiction=ex.jurisdiction,
                       amount=Money(a.amount, a.currency).as_dict()), actor)


def flag_over_limit(p: Policy) -> list[str]:
    """Mark every live allocation of the policy while their total exceeds its limit; clear it when it fits."""
    live = db.session.scalars(select(Allocation).filter_by(policy_id=p.id, status="live")).all()
    over = sum(a.amount for a in live) > p.limit_amount
    for a in live:
        a.over_limit = over
    return [a.id for a in live] if over else []


def carry_over(old: ObligationRecord, new: ObligationRecord) -> None:
    """A recomputed obligation keeps the cover attached to the revision it replaces."""
    for a in db.session.scalars(select(Allocation).filter_by(obligation_id=old.id, status="live")):
        a.status, a.detached_at = "detached", utcnow()
        db.session.add(Allocation(policy_id=a.policy_id, obligation_id=new.id, exchange_id=a.exchange_id,
                                  amount=a.amount, currency=a.currency, created_by=a.created_by))
    db.session.flush()


def attested(p: Policy) -> bool:
    from ..attestations.models import Attestation

    return db.session.scalar(select(Attestation.id).filter_by(policy_id=p.id, revision=p.revision)) is not None


def domain_allocations(ob: ObligationRecord) -> list[cover.Allocation]:
    """The obligation's live allocations as domain objects, for evaluate_offset."""
    rows = db.session.scalars(select(Allocation).filter_by(obligation_id=ob.id, status="live")
                              .order_by(Allocation.id)).all()
    out = []
    for a in rows:
        p = a.policy
        ins = cover.Insurer(p.insurer_id, p.insurer.name, p.insurer.rating,
                            registry.approved_jurisdictions(p.insurer_id))
        dp = cover.Policy(p.id, p.number, ins, p.insured_id, Money(p.limit_amount, p.currency),
                          Money(p.deductible, p.currency), frozenset(p.perils), p.term_start, p.term_end,
                          p.cancellation_notice_days, p.status, attested=attested(p))
        out.append(cover.Allocation(a.id, dp, Money(a.amount, a.currency)))
    return out


def live_allocated(policy_id: str) -> int:
    # int(): PostgreSQL's SUM over BIGINT is NUMERIC (a Decimal); money stays integer minor units.
    return int(db.session.scalar(select(func.coalesce(func.sum(Allocation.amount), 0))
                                 .where(Allocation.policy_id == policy_id, Allocation.status == "live")))


def install() -> None:
    """Plug allocations into policies, obligation offsets and recomputation (called by create_app)."""
    from ..obligations import service as obligations

    if live_allocated not in policies.ALLOCATED:
        policies.ALLOCATED.append(live_allocated)
    if flag_over_limit not in policies.ON_AMEND:
        policies.ON_AMEND.append(flag_over_limit)
    if domain_allocations not in obligations.ALLOCATION_SOURCES:
        obligations.ALLOCATION_SOURCES.append(domain_allocations)
    if carry_over not in obligations.ON_RECOMPUTE:
        obligations.ON_RECOMPUTE.append(carry_over)


def usage(p: Policy) -> tuple[int, int]:
    """Read-only (portal): (limit allocated live across every obligation, what remains of the limit)."""
    used = live_allocated(p.id)
    return used, max(0, p.limit_amount - used)

"""Attaching policy limit to obligations. The policy row is locked for the check-and-insert, so the
live allocations of a policy never exceed its limit, whatever runs concurrently."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

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
from ..registry.models import Exchange, InsurerApproval, Organization
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


def regulator_ratings(regulator_id: str | None, insurer_ids) -> dict[str, str | None]:
    """insurer id -> the rating this regulator gives it (its approval's rating; DESIGN 4.2: eligibility uses
    the obligation's regulator's rating, never a global one). An insurer this regulator has no approval for
    is absent (no rating)."""
    ids = sorted(insurer_ids)
    if regulator_id is None or not ids:
        return {}
    rows = db.session.execute(select(InsurerApproval.insurer_id, InsurerApproval.rating)
                              .where(InsurerApproval.regulator_id == regulator_id,
                                     InsurerApproval.insurer_id.in_(ids)))
    return dict(rows.all())


def domain_allocations(ob: ObligationRecord) -> list[cover.Allocation]:
    """The obligation's live allocations as domain objects, for evaluate_offset."""
    return allocations_many([ob])[ob.id]


CHUNK = 500  # ids per IN (...) list


def _chunks(ids: list[str]):
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def allocations_many(rows: list[ObligationRecord]) -> dict[str, list[cover.Allocation]]:
    """{obligation id: its live allocations as domain objects, in allocation id order}: the insurer's rating
    as the exchange's regulator gives it, the jurisdictions approving it, group, territories, attestation.
    Read in a handful of queries for any number of obligations (supervision reads a whole market); one
    obligation's (`domain_allocations`) is the same read. Eligibility stays in `domain.offset`."""
    from ..attestations.models import Attestation
    from ..policies.models import Policy
    from ..registry.models import InsurerApproval

    out: dict[str, list[cover.Allocation]] = {r.id: [] for r in rows}
    if not rows:
        return out
    allocs = []  # plain rows, not ORM objects: thousands of them, read once
    for ids in _chunks([r.id for r in rows]):
        allocs += db.session.execute(select(Allocation.id, Allocation.obligation_id, Allocation.policy_id,
                                            Allocation.amount, Allocation.currency)
                                     .where(Allocation.obligation_id.in_(ids), Allocation.status == "live")).all()
    if not allocs:
        return out
    policy_ids = sorted({a.policy_id for a in allocs})
    policies, attested = {}, set()
    for ids in _chunks(policy_ids):
        policies.update({p.id: p for p in db.session.execute(
            select(Policy.id, Policy.number, Policy.insurer_id, Policy.insured_id, Policy.limit_amount,
                   Policy.deductible, Policy.currency, Policy.perils, Policy.territories, Policy.term_start,
                   Policy.term_end, Policy.cancellation_notice_days, Policy.status, Policy.revision)
            .where(Policy.id.in_(ids)))})
        attested |= {(pid, rev) for pid, rev in db.session.execute(
            select(Attestation.policy_id, Attestation.revision).where(Attestation.policy_id.in_(ids)))}
    insurer_ids = sorted({p.insurer_id for p in policies.values()})
    insurers, approved_in, ratings = {}, {}, {}
    for ids in _chunks(insurer_ids):
        insurers.update({o.id: o for o in db.session.execute(
            select(Organization.id, Organization.name, Organization.group_name).where(Organization.id.in_(ids)))})
        for insurer, regulator, status, rating, jurisdiction in db.session.execute(
                select(InsurerApproval.insurer_id, InsurerApproval.regulator_id, InsurerApproval.status,
                       InsurerApproval.rating, Organization.jurisdiction)
                .join(Organization, Organization.id == InsurerApproval.regulator_id)
                .where(InsurerApproval.insurer_id.in_(ids))):
            ratings[(regulator, insurer)] = rating
            if status == "approved" and jurisdiction:
                approved_in.setdefault(insurer, set()).add(jurisdiction)
    exchange_ids = sorted({r.exchange_id for r in rows})
    exchanges = {}
    for ids in _chunks(exchange_ids):
        exchanges.update({ex.org_id: ex for ex in db.session.scalars(
            select(Exchange).options(joinedload(Exchange.org)).where(Exchange.org_id.in_(ids)))})
    by_id = {r.id: r for r in rows}
    for a in sorted(allocs, key=lambda a: a.id):
        row, p = by_id[a.obligation_id], policies[a.policy_id]
        ex = exchanges.get(row.exchange_id)
        ins_org = insurers[p.insurer_id]
        rating = ratings.get((ex.regulator_id, p.insurer_id)) if ex is not None else None
        ins = cover.Insurer(p.insurer_id, ins_org.name, rating, frozenset(approved_in.get(p.insurer_id, ())),
                            group=ins_org.group_name)
        dp = cover.Policy(p.id, p.number, ins, p.insured_id, Money(p.limit_amount, p.currency),
                          Money(p.deductible, p.currency), frozenset(p.perils), p.term_start, p.term_end,
                          p.cancellation_notice_days, p.status, attested=(p.id, p.revision) in attested,
                          territories=frozenset(p.territories) if p.territories else None,
                          insured_group=ex.org.group_name if ex is not None else None)
        out[row.id].append(cover.Allocation(a.id, dp, Money(a.amount, a.currency)))
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

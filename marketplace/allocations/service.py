"""Attaching policy limit to obligations. The policy row is locked for the check-and-insert, so the
live allocations of a policy never exceed its limit, whatever runs concurrently."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..db import utcnow
from ..db.lists import one_of
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


_STATEMENTS: dict = {}


def allocation_rows(where):
    """The live allocations matching `where` (a clause on Allocation) with their policy, its insurer, whether the
    policy's revision is attested and the obligation's exchange: what domain_of reads."""
    from ..attestations.models import Attestation

    insurer, insured = aliased(Organization), aliased(Organization)
    attested = (select(Attestation.id).where(Attestation.policy_id == Policy.id,
                                             Attestation.revision == Policy.revision).exists())
    return (select(Allocation.id, Allocation.obligation_id, Allocation.amount, Allocation.currency,
                   Policy.id.label("policy_id"), Policy.number, Policy.insurer_id, Policy.insured_id,
                   Policy.limit_amount, Policy.deductible, Policy.currency.label("policy_currency"),
                   Policy.perils, Policy.territories, Policy.term_start, Policy.term_end,
                   Policy.cancellation_notice_days, Policy.status, attested.label("attested"),
                   insurer.name.label("insurer_name"), insurer.group_name.label("insurer_group"),
                   Exchange.org_id.label("exchange_found"), Exchange.regulator_id,
                   insured.group_name.label("insured_group"))
            .select_from(Allocation)
            .join(Policy, Policy.id == Allocation.policy_id)
            .join(insurer, insurer.id == Policy.insurer_id)
            .join(ObligationRecord, ObligationRecord.id == Allocation.obligation_id)
            .outerjoin(Exchange, Exchange.org_id == ObligationRecord.exchange_id)
            .outerjoin(insured, insured.id == Exchange.org_id)
            .where(where, Allocation.status == "live"))


def approval_rows(where):
    """The approvals (every regulator's) matching `where` (a clause on InsurerApproval): what domain_of reads."""
    return (select(InsurerApproval.insurer_id, InsurerApproval.regulator_id, InsurerApproval.status,
                   InsurerApproval.rating, Organization.jurisdiction)
            .join(Organization, Organization.id == InsurerApproval.regulator_id)
            .where(where))


def _statements(postgres: bool):
    """allocations_many's two statements, built once (building a select of this size costs more than running it):
    the live allocations of obligations `ids`; the approvals of insurers `ids`."""
    if postgres not in _STATEMENTS:
        _STATEMENTS[postgres] = (allocation_rows(one_of(Allocation.obligation_id, "ids", postgres)),
                                 approval_rows(one_of(InsurerApproval.insurer_id, "ids", postgres)))
    return _STATEMENTS[postgres]


def allocations_many(rows: list[ObligationRecord]) -> dict[str, list[cover.Allocation]]:
    """{obligation id: its live allocations as domain objects, in allocation id order}: the insurer's rating
    as the exchange's regulator gives it, the jurisdictions approving it, group, territories, attestation.
    Read in two queries per CHUNK obligations, whatever the number of allocations (supervision reads a whole
    market): the live allocations joined with their policy, its insurer, whether the policy's revision is
    attested and the obligation's exchange; then the approvals of the insurers met. One obligation's
    (`domain_allocations`) is the same read. Eligibility stays in `domain.offset`."""
    if not rows:
        return {}
    allocs_stmt, approvals_stmt = _statements(db.session.get_bind().dialect.name == "postgresql")
    allocs = []  # plain rows, not ORM objects: thousands of them, read once
    for ids in _chunks([r.id for r in rows]):
        allocs += db.session.execute(allocs_stmt, {"ids": ids}).all()
    approvals = []
    for ids in _chunks(sorted({a.insurer_id for a in allocs})):
        approvals += db.session.execute(approvals_stmt, {"ids": ids}).all()
    return domain_of([r.id for r in rows], allocs, approvals)


def domain_of(obligation_ids, allocs, approvals) -> dict[str, list[cover.Allocation]]:
    """{obligation id: its allocations as domain objects, in allocation id order} from allocation_rows and the
    approval_rows of their insurers (rows with those columns' names, however they were read)."""
    out: dict[str, list[cover.Allocation]] = {i: [] for i in obligation_ids}
    approved_in, ratings = {}, {}
    for insurer_id, regulator, status, rating, jurisdiction in approvals:
        ratings[(regulator, insurer_id)] = rating
        if status == "approved" and jurisdiction:
            approved_in.setdefault(insurer_id, set()).add(jurisdiction)
    for a in sorted(allocs, key=lambda a: a.id):
        found = a.exchange_found is not None
        rating = ratings.get((a.regulator_id, a.insurer_id)) if found else None
        ins = cover.Insurer(a.insurer_id, a.insurer_name, rating, frozenset(approved_in.get(a.insurer_id, ())),
                            group=a.insurer_group)
        dp = cover.Policy(a.policy_id, a.number, ins, a.insured_id, Money(a.limit_amount, a.policy_currency),
                          Money(a.deductible, a.policy_currency), frozenset(a.perils), a.term_start, a.term_end,
                          a.cancellation_notice_days, a.status, attested=bool(a.attested),
                          territories=frozenset(a.territories) if a.territories else None,
                          insured_group=a.insured_group if found else None)
        out[a.obligation_id].append(cover.Allocation(a.id, dp, Money(a.amount, a.currency)))
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

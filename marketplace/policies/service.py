"""Policies: create (bound or registered), amend (new revision), cancel (respecting notice), lapse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select

from ..db import utcnow
from ..domain.money import Money
from ..errors import Conflict, Unprocessable
from ..events import kinds
from ..events import service as events
from ..extensions import db
from ..registry.models import Exchange, Organization
from .models import Policy, PolicyRevision

TERMS = ("limit_amount", "deductible", "perils", "term_start", "term_end")


def _ids(p: Policy) -> dict:
    """What every policy event carries: the policy, who wrote it, whom it insures, and where."""
    ex = db.session.get(Exchange, p.insured_id)
    return {"policy_id": p.id, "number": p.number, "insurer_id": p.insurer_id, "exchange_id": p.insured_id,
            "jurisdiction": ex.jurisdiction if ex else None}


def _snapshot(p: Policy, actor: str) -> None:
    db.session.add(PolicyRevision(policy_id=p.id, revision=p.revision, limit_amount=p.limit_amount,
                                  deductible=p.deductible, perils=list(p.perils), term_start=p.term_start,
                                  term_end=p.term_end, created_by=actor))


def _check_terms(limit: int, deductible: int, term_start: date, term_end: date) -> None:
    errors = {}
    if limit <= 0:
        errors["limit"] = ["must be positive"]
    if deductible < 0 or deductible >= max(limit, 1):
        errors["deductible"] = ["must be at least 0 and below the limit"]
    if term_end < term_start:
        errors["term_end"] = ["must not be before term_start"]
    if errors:
        raise Unprocessable("the policy terms are inconsistent", errors)


def create(insurer: Organization, insured: Exchange, number: str, limit: Money, deductible: Money,
           perils: list[str], term_start: date, term_end: date, notice_days: int, source: str, actor: str) -> Policy:
    if deductible.currency != limit.currency:
        raise Unprocessable("deductible and limit must share a currency", {"deductible/currency": ["mismatch"]})
    _check_terms(limit.amount, deductible.amount, term_start, term_end)
    if db.session.scalar(select(Policy.id).filter_by(insurer_id=insurer.id, number=number)):
        raise Conflict(f"policy number {number} is already used by this insurer", {"number": ["already used"]})
    p = Policy(insurer_id=insurer.id, number=number, insured_id=insured.org_id, currency=limit.currency,
               limit_amount=limit.amount, deductible=deductible.amount, perils=sorted(set(perils)),
               term_start=term_start, term_end=term_end, cancellation_notice_days=notice_days, source=source,
               status="active", revision=1)
    db.session.add(p)
    db.session.flush()
    _snapshot(p, actor)
    db.session.flush()
    events.record(kinds.PolicyBound(**_ids(p), limit=limit.as_dict(), term_start=term_start.isoformat(),
                                    term_end=term_end.isoformat()), actor)
    return p


# Allocations sit above policies and plug in at start-up (allocations.service.install), so this module never
# imports them: how much of a policy is allocated, and what to flag when an amendment lowers its limit.
ALLOCATED: list[Callable[[str], int]] = []
ON_AMEND: list[Callable[[Policy], list[str]]] = []


def live_allocated(policy_id: str) -> int:
    return sum(source(policy_id) for source in ALLOCATED)


def amend(p: Policy, changes: dict, actor: str) -> Policy:
    """New revision with the changed terms; allocations beyond a lowered limit are flagged."""
    if p.status != "active":
        raise Conflict(f"cannot amend a policy that is {p.status}", current_state=p.status)
    new = {k: changes.get(k, getattr(p, k)) for k in TERMS}
    new["perils"] = sorted(set(new["perils"]))
    if all(new[k] == getattr(p, k) for k in TERMS):
        raise Unprocessable("the amendment changes nothing")
    _check_terms(new["limit_amount"], new["deductible"], new["term_start"], new["term_end"])
    before = {k: (str(v) if isinstance(v, date) else v) for k, v in ((k, getattr(p, k)) for k in TERMS)}
    for k, v in new.items():
        setattr(p, k, v)
    p.revision += 1
    _snapshot(p, actor)
    flagged = [a for hook in ON_AMEND for a in hook(p)]
    events.record(kinds.PolicyAmended(**_ids(p), revision=p.revision, before=before,
                                      over_limit_allocations=flagged), actor)
    db.session.flush()
    return p


def cancel(p: Policy, effective: date, today: date, actor: str, reason: str | None) -> Policy:
    if p.status != "active":
        raise Conflict(f"cannot cancel a policy that is {p.status}", current_state=p.status)
    earliest = today + timedelta(days=p.cancellation_notice_days)
    if effective < earliest:
        raise Unprocessable(f"the notice period is {p.cancellation_notice_days} days: cancel effective {earliest} "
                            "or later", {"effective_on": [f"must be {earliest} or later"]})
    p.status, p.cancelled_effective, p.status_changed_at = "cancelled", effective, utcnow()
    events.record(kinds.PolicyCancelled(**_ids(p), effective_on=effective.isoformat(), reason=reason), actor)
    db.session.flush()
    return p


def lapse(p: Policy, today: date, actor: str) -> Policy:
    if p.status != "active":
        raise Conflict(f"cannot lapse a policy that is {p.status}", current_state=p.status)
    if p.term_end >= today:
        raise Conflict(f"the term runs until {p.term_end}; it lapses after that", current_state=p.status)
    p.status, p.status_changed_at = "lapsed", utcnow()
    events.record(kinds.PolicyLapsed(**_ids(p), term_end=p.term_end.isoformat()), actor)
    db.session.flush()
    return p


def lapse_expired(today: date, actor: str = "sweep") -> list[str]:
    """Lapse every active policy whose term ended before `today` (the policy-expiry sweep)."""
    due = db.session.scalars(select(Policy).where(Policy.status == "active", Policy.term_end < today)).all()
    return [lapse(p, today, actor).id for p in due]

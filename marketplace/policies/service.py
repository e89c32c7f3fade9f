"""Policies: create (bound or registered), amend (new revision), cancel (respecting notice), lapse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select

from ..db import utcnow
from ..db.locking import savepoint
from ..domain.money import Money
from ..errors import Conflict, Unprocessable
from ..events import kinds
from ..events import service as events
from ..extensions import db
from ..registry.models import Exchange, Organization
from .models import Policy, PolicyRevision

TERMS = ("limit_amount", "deductible", "perils", "term_start", "term_end")  # attested: a change makes a revision
# Recorded with the policy but not part of the insurer's attestation (a contract): a change alone keeps the
# revision (and its attestation) and is an amendment all the same (event; certificates relying on it revoked)
UNATTESTED = ("territories",)


def _territories(codes) -> list[str] | None:
    """Territories as stored: sorted, unique; None when none are recorded."""
    return sorted(set(codes)) if codes else None


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
           perils: list[str], term_start: date, term_end: date, notice_days: int, source: str, actor: str,
           territories: list[str] | None = None) -> Policy:
    if deductible.currency != limit.currency:
        raise Unprocessable("deductible and limit must share a currency", {"deductible/currency": ["mismatch"]})
    _check_terms(limit.amount, deductible.amount, term_start, term_end)
    if db.session.scalar(select(Policy.id).filter_by(insurer_id=insurer.id, number=number)):
        raise Conflict(f"policy number {number} is already used by this insurer", {"number": ["already used"]})
    p = Policy(insurer_id=insurer.id, number=number, insured_id=insured.org_id, currency=limit.currency,
               limit_amount=limit.amount, deductible=deductible.amount, perils=sorted(set(perils)),
               term_start=term_start, term_end=term_end, cancellation_notice_days=notice_days, source=source,
               status="active", revision=1, territories=_territories(territories))
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
    """New revision with the changed terms; allocations beyond a lowered limit are flagged. A change of
    territories alone (not attested) keeps the revision and its attestation, and is recorded as an amendment."""
    if p.status != "active":
        raise Conflict(f"cannot amend a policy that is {p.status}", current_state=p.status)
    new = {k: changes.get(k, getattr(p, k)) for k in TERMS}
    new["perils"] = sorted(set(new["perils"]))
    territories = _territories(changes["territories"]) if "territories" in changes else p.territories
    terms_changed = any(new[k] != getattr(p, k) for k in TERMS)
    territories_changed = territories != p.territories
    if not (terms_changed or territories_changed):
        raise Unprocessable("the amendment changes nothing", {"_schema": [
            "change at least one of limit, deductible, perils, term_start, term_end, territories"]})
    _check_terms(new["limit_amount"], new["deductible"], new["term_start"], new["term_end"])
    before = {k: (str(v) if isinstance(v, date) else v) for k, v in ((k, getattr(p, k)) for k in TERMS)}
    if territories_changed:
        before["territories"] = p.territories
        p.territories = territories
    if terms_changed:
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


# Read-only queries for the portal, and registering an existing policy (one, or many from a CSV upload).

def insurable_exchanges(insurer_id: str) -> list[Exchange]:
    """The exchanges this insurer may register a policy for: those in a jurisdiction where a regulator approves it."""
    from ..registry.service import approved_jurisdictions

    where = approved_jurisdictions(insurer_id)
    if not where:
        return []
    return list(db.session.scalars(select(Exchange).join(Organization, Organization.id == Exchange.org_id)
                                   .where(Exchange.jurisdiction.in_(sorted(where)))
                                   .order_by(Organization.name, Exchange.org_id)))


def register(insurer: Organization, data: dict, actor: str) -> Policy:
    """Register a policy the insurer wrote outside the market (the API's POST /policies, as one function):
    the insured must be an exchange in a jurisdiction where the insurer is approved."""
    from ..registry.service import approved_jurisdictions

    insured = data["insured"]
    ex = db.session.get(Exchange, insured) if isinstance(insured, str) and len(insured) <= 36 else None
    if ex is None or ex.jurisdiction not in approved_jurisdictions(insurer.id):
        raise Unprocessable("no exchange with that id where you are approved", {"insured": ["unknown exchange"]})
    return create(insurer, ex, data["number"], data["limit"], data["deductible"], data["perils"],
                  data["term_start"], data["term_end"], data["cancellation_notice_days"], "registered", actor,
                  territories=data.get("territories"))


def register_many(rows: list[dict], insurer: Organization, actor: str) -> list[Policy | Exception]:
    """Register each row (data as the register schema loads it) on its own: a row the rules refuse is
    rolled back alone (a savepoint) and answered with its error; the others are kept. One entry per row,
    in order: the policy, or the ServiceError/DomainError that refused it. A later row whose number an
    earlier row of the same batch took is refused as already used."""
    from ..domain.errors import DomainError
    from ..errors import ServiceError

    out: list[Policy | Exception] = []
    for data in rows:
        try:
            with savepoint(db.session()):
                out.append(register(insurer, data, actor))
        except (ServiceError, DomainError) as e:
            out.append(e)
    return out


def expiring(policies, today: date, days: int) -> list[Policy]:
    """Active policies of `policies` (a select, already filtered by tenancy) whose term ends within `days`."""
    return list(db.session.scalars(policies.where(Policy.status == "active", Policy.term_end >= today,
                                                  Policy.term_end <= today + timedelta(days=days))
                                   .order_by(Policy.term_end, Policy.number)))


def insured_exchanges(exchange_ids) -> dict[str, Exchange]:
    """The exchanges these policies insure, by id (their names and licences are shown with the policies)."""
    ids = sorted({i for i in exchange_ids if i})
    if not ids:
        return {}
    return {e.org_id: e for e in db.session.scalars(select(Exchange).where(Exchange.org_id.in_(ids)))}

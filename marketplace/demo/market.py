"""Demo market: offerings, the JP exchange's policies and allocations (idempotent)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from ..allocations import service as allocations
from ..db import utcnow
from ..domain.money import Money
from ..extensions import db
from ..market import service as market
from ..market.models import Offering
from ..obligations import service as obligations
from ..policies import service as policies
from ..policies.models import Policy
from ..registry import service as registry
from ..registry.models import Exchange, Organization
from . import data

ACTOR = "demo-loader"


def _org(name: str) -> Organization:
    return db.session.scalar(select(Organization).filter_by(kind="insurer", name=name))


def _offering(spec: dict) -> Offering:
    ins = _org(spec["insurer"])
    o = db.session.scalar(select(Offering).filter_by(insurer_id=ins.id, title=spec["title"]))
    if o is not None:
        return o
    cur = spec["currency"]
    return market.create_offering(ins, {
        "title": spec["title"], "perils": spec["perils"], "jurisdictions": spec["jurisdictions"],
        "min_limit": Money(spec["min_limit"], cur), "max_limit": Money(spec["max_limit"], cur),
        "capacity": Money(spec["capacity"], cur), "deductible": Money(spec["deductible"], cur),
        "min_term_months": spec["min_term_months"], "max_term_months": spec["max_term_months"],
        "indicative_rate": Decimal(spec["indicative_rate"]), "cancellation_notice_days": spec["notice"],
        "status": "listed"})


def _policy(number: str) -> Policy | None:
    return db.session.scalar(select(Policy).filter_by(number=number))


def _bound(ex: Exchange, offerings: dict[str, Offering]) -> Policy | None:
    """The bound demo policy, if it had to be made now."""
    spec = data.BOUND
    if _policy(spec["number"]):
        return None
    o = offerings[spec["offering"]]
    req = market.create_request(ex, o, Money(spec["limit"], o.currency), spec["term_start"], spec["term_months"],
                                list(o.perils), "Demo: cover for the 2027 reserve")
    market.quote(req, {"premium": Money(spec["premium"], o.currency), "expires_at": utcnow() + timedelta(days=30)})
    market.accept(req)
    market.bind(req, spec["number"], ACTOR)
    return _policy(spec["number"])


def _registered(ex: Exchange) -> list[Policy]:
    made = []
    for spec in data.REGISTERED:
        if _policy(spec["number"]) is None:
            cur = spec["currency"]
            made.append(policies.create(_org(spec["insurer"]), ex, spec["number"], Money(spec["limit"], cur),
                                        Money(spec["deductible"], cur), spec["perils"], spec["term_start"],
                                        spec["term_end"], spec["notice"], "registered", ACTOR))
    return made


def load() -> list[str]:
    """Offerings, policies, the first obligation with its allocations and a first certificate.

    Each is made only when missing, and what depends on it only in the run that made it: once a user has
    attached, detached, cancelled or recomputed, the demo leaves all of that alone."""
    offerings = {spec["title"]: _offering(spec) for spec in data.OFFERINGS}
    ex = registry.find_exchange("Kanto-FB-00099", "JP")
    made = [p for p in [_bound(ex, offerings), *_registered(ex)] if p is not None]
    from ..attestations import service as attestations

    for p in made:
        attestations.sign_custodially(p, ACTOR)  # demo insurers keep custodial keys
    if obligations.latest(ex.org_id, data.DEMO_PERIOD) is not None:
        return _titles(offerings)
    ob = obligations.compute(ex, data.DEMO_PERIOD, ACTOR)
    for number, amount in data.ALLOCATIONS:
        p = _policy(number)
        allocations.attach(ob, p.id, Money(amount, p.currency), ACTOR)
    db.session.flush()
    from ..certificates import service as certificates

    certificates.issue(ob, ACTOR)  # a first certificate, so the log and the verify pages have something
    return _titles(offerings)


def _titles(offerings: dict[str, Offering]) -> list[str]:
    return [f"{o.title} ({o.insurer.name})" for o in offerings.values()]

"""Demo market: offerings, the JP exchange's policies and allocations (idempotent)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from ..allocations import service as allocations
from ..allocations.models import Allocation
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


def _bound(ex: Exchange, offerings: dict[str, Offering]) -> None:
    spec = data.BOUND
    if _policy(spec["number"]):
        return
    o = offerings[spec["offering"]]
    req = market.create_request(ex, o, Money(spec["limit"], o.currency), spec["term_start"], spec["term_months"],
                                list(o.perils), "Demo: cover for the 2027 reserve")
    market.quote(req, {"premium": Money(spec["premium"], o.currency), "expires_at": utcnow() + timedelta(days=30)})
    market.accept(req)
    market.bind(req, spec["number"], ACTOR)


def _registered(ex: Exchange) -> None:
    for spec in data.REGISTERED:
        if _policy(spec["number"]) is None:
            cur = spec["currency"]
            policies.create(_org(spec["insurer"]), ex, spec["number"], Money(spec["limit"], cur),
                            Money(spec["deductible"], cur), spec["perils"], spec["term_start"], spec["term_end"],
                            spec["notice"], "registered", ACTOR)


def load() -> list[str]:
    offerings = {spec["title"]: _offering(spec) for spec in data.OFFERINGS}
    ex = registry.find_exchange("Kanto-FB-00099", "JP")
    _bound(ex, offerings)
    _registered(ex)
    from ..attestations import service as attestations

    for number in [data.BOUND["number"]] + [r["number"] for r in data.REGISTERED]:
        p = _policy(number)
        if attestations.current(p) is None:
            attestations.sign_custodially(p, ACTOR)  # demo insurers keep custodial keys
    ob = obligations.compute(ex, data.DEMO_PERIOD, ACTOR)
    for number, amount in data.ALLOCATIONS:
        p = _policy(number)
        live = db.session.scalar(select(Allocation).filter_by(policy_id=p.id, obligation_id=ob.id, status="live"))
        if live is None:
            allocations.attach(ob, p.id, Money(amount, p.currency), ACTOR)
    db.session.flush()
    from ..certificates import service as certificates
    from ..certificates.models import Certificate

    if db.session.scalar(select(Certificate.id).filter_by(exchange_id=ex.org_id, status="valid")) is None:
        certificates.issue(ob, ACTOR)  # a first certificate, so the log and the verify pages have something
    return [f"{o.title} ({o.insurer.name})" for o in offerings.values()]

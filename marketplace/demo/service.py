"""Load the demo world. Idempotent against any state a user can reach: every row is looked up by its
natural key first, and what exists is left exactly as the user left it (a rating changed, a volume
corrected, cover attached or cancelled): the demo seeds what is missing and never edits or recomputes."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..domain.fx import FxRate
from ..domain.money import Money
from ..extensions import db
from ..fx import service as fx
from ..registry import service as registry
from ..registry.models import Custodian, Exchange, Organization
from ..reports import service as reports
from ..reports.models import (
    CustodyBalanceRecord,
    FixedOverheads,
    IncidentRecord,
    MonthlyVolume,
    ReserveBalanceRecord,
)
from ..rulesets import service as rulesets
from . import data

ACTOR = "demo-loader"


def _org(kind: str, name: str) -> Organization | None:
    return db.session.scalar(select(Organization).filter_by(kind=kind, name=name))


def _insurer(name: str, rating: str | None, statuses: dict[str, str], regulators: dict) -> Organization:
    org = _org("insurer", name)
    if org is not None:
        return org
    org = registry.create_org("insurer", name, None, ACTOR)
    org.rating = rating  # asked for at admission: each regulator's approval starts from it (then rates on its own)
    for jurisdiction, status in statuses.items():
        registry.set_insurer_status(org, regulators[jurisdiction], status, ACTOR)
    return org


def _custodian(name: str, jurisdiction: str, status: str, number: str | None) -> Custodian:
    org = _org("custodian", name)
    if org is not None:
        return org.custodian
    return registry.register_custodian(name, jurisdiction, status, ACTOR, number)


def _exchange(spec: dict, regulator: Organization) -> Exchange:
    ex = db.session.scalar(select(Exchange).filter_by(licence_number=spec["licence"],
                                                      jurisdiction=spec["jurisdiction"]))
    if ex is None:
        ex = registry.register_exchange(spec["name"], spec["licence"], regulator, ACTOR, spec["service_classes"])
    cur = spec["currency"]

    def absent(model, **key) -> bool:
        return db.session.scalar(select(model.id).filter_by(exchange_id=ex.org_id, **key)) is None

    for month in data.MONTHS:
        for cls, amount in spec["volumes"](month).items():
            if absent(MonthlyVolume, month=month, product_class=cls):
                reports.record_volume(ex, month, cls, Money(amount, cur), ACTOR)
    for as_of, wallet, amount in spec["custody"]:
        if absent(CustodyBalanceRecord, as_of=as_of, wallet=wallet):
            reports.record_custody(ex, as_of, wallet, Money(amount, cur), ACTOR)
    for as_of, amount in spec["reserve"]:
        if absent(ReserveBalanceRecord, as_of=as_of):
            reports.record_reserve_balance(ex, as_of, Money(amount, cur), ACTOR)
    for year, amount in spec["overheads"]:
        if absent(FixedOverheads, fiscal_year=year):
            reports.record_overheads(ex, year, Money(amount, cur), ACTOR)
    for day, kind, loss, comp, text in spec["incidents"]:
        seen = db.session.scalar(select(IncidentRecord).filter_by(exchange_id=ex.org_id, occurred_on=day, kind=kind))
        if seen is None:
            reports.record_incident(ex, day, kind, Money(loss, cur), Money(comp, cur), ACTOR, text)
    for name in spec["custodians"]:
        registry.link_custodian(ex, _org("custodian", name).custodian)
    return ex


def load() -> dict[str, list[str]]:
    """Load everything; return the names of what exists afterwards, by kind."""
    rulesets.seed_shipped(current_app.extensions["shipped_rulesets"])
    regulators = {j: registry.ensure_regulator(name, j, ACTOR)[0] for name, j in data.REGULATORS}
    insurers = [_insurer(n, r, s, regulators) for n, r, s in data.INSURERS]
    custodians = [_custodian(*c) for c in data.CUSTODIANS]
    exchanges = [_exchange(spec, regulators[spec["jurisdiction"]]) for spec in data.EXCHANGES]
    for base, quote, rate, as_of, source in data.FX_RATES:
        fx.record(FxRate(base, quote, rate, as_of, source))
    db.session.flush()
    from .market import load as load_market

    offerings = load_market()
    return {
        "regulators": [r.name for r in regulators.values()],
        "insurers": [i.name for i in insurers],
        "custodians": [c.org.name for c in custodians],
        "exchanges": [f"{e.org.name} ({e.jurisdiction} licence {e.licence_number})" for e in exchanges],
        "offerings": offerings,
    }

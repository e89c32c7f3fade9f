"""Recording exchange reports and assembling them into domain facts."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..domain.facts import (
    INCIDENT_KINDS,
    Custodian,
    CustodyBalance,
    ExchangeFacts,
    Incident,
    Overheads,
    Volume,
)
from ..domain.money import Money
from ..errors import Unprocessable
from ..extensions import db
from ..registry.models import Exchange
from .models import CustodyBalanceRecord, FixedOverheads, IncidentRecord, MonthlyVolume


def _upsert(model, keys: dict, amount: Money, actor: str, **fields):
    """Insert a reported row, or correct it as a new revision when its natural key exists."""
    row = db.session.scalar(select(model).filter_by(**keys))
    if row is None:
        row = model(**keys, amount=amount.amount, currency=amount.currency, recorded_by=actor, **fields)
        db.session.add(row)
    elif (row.amount, row.currency) != (amount.amount, amount.currency):
        row.amount, row.currency, row.recorded_by = amount.amount, amount.currency, actor
        row.revision += 1
    db.session.flush()
    return row


def record_volume(ex: Exchange, month: date, product_class: str, amount: Money, actor: str) -> MonthlyVolume:
    if month.day != 1:
        raise Unprocessable("a volume month is given by its first day", {"month": ["must be YYYY-MM"]})
    return _upsert(MonthlyVolume, {"exchange_id": ex.org_id, "month": month, "product_class": product_class},
                   amount, actor)


def record_custody(ex: Exchange, as_of: date, wallet: str, amount: Money, actor: str) -> CustodyBalanceRecord:
    return _upsert(CustodyBalanceRecord, {"exchange_id": ex.org_id, "as_of": as_of, "wallet": wallet}, amount, actor)


def record_overheads(ex: Exchange, year: int, amount: Money, actor: str) -> FixedOverheads:
    return _upsert(FixedOverheads, {"exchange_id": ex.org_id, "fiscal_year": year}, amount, actor)


def record_incident(ex: Exchange, occurred_on: date, kind: str, loss: Money, compensated: Money, actor: str,
                    description: str | None = None) -> IncidentRecord:
    if kind not in INCIDENT_KINDS:
        raise Unprocessable(f"incident kind must be one of {', '.join(INCIDENT_KINDS)}", {"kind": ["invalid"]})
    if compensated > loss:
        raise Unprocessable("compensated exceeds the loss", {"compensated": ["must not exceed loss"]})
    row = IncidentRecord(exchange_id=ex.org_id, occurred_on=occurred_on, kind=kind, loss=loss.amount,
                         compensated=compensated.amount, currency=loss.currency, description=description,
                         recorded_by=actor)
    db.session.add(row)
    db.session.flush()
    return row


def facts_for(ex: Exchange) -> ExchangeFacts:
    """Everything reported by the exchange, as domain facts."""
    eid = ex.org_id

    def rows(model):
        return db.session.scalars(select(model).filter_by(exchange_id=eid)).all()

    return ExchangeFacts(
        exchange_id=eid, name=ex.org.name, licence_number=ex.licence_number, jurisdiction=ex.jurisdiction,
        volumes=tuple(Volume(r.month, r.product_class, Money(r.amount, r.currency)) for r in rows(MonthlyVolume)),
        custody=tuple(CustodyBalance(r.as_of, r.wallet, Money(r.amount, r.currency))
                      for r in rows(CustodyBalanceRecord)),
        incidents=tuple(Incident(r.id, r.occurred_on, r.kind, Money(r.loss, r.currency),
                                 Money(r.compensated, r.currency)) for r in rows(IncidentRecord)),
        custodians=tuple(Custodian(c.org_id, c.org.name, c.registration_status == "registered")
                         for c in ex.custodians),
        service_classes=tuple(int(c) for c in ex.service_classes.split(",") if c),
        overheads=tuple(Overheads(r.fiscal_year, Money(r.amount, r.currency)) for r in rows(FixedOverheads)),
    )

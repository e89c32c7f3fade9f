"""Recording exchange reports and assembling them into domain facts."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..db import utcnow
from ..domain.adequacy import shortfall
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
from .models import (
    CustodyBalanceRecord,
    FixedOverheads,
    IncidentRecord,
    MonthlyVolume,
    ReportRevision,
    ReserveBalanceRecord,
)

KINDS = {MonthlyVolume: "volume", CustodyBalanceRecord: "custody", IncidentRecord: "incident",
         FixedOverheads: "overheads", ReserveBalanceRecord: "reserve"}
SKIP = {"id", "exchange_id", "revision", "recorded_by", "recorded_at"}


def _plain(v):
    return v.isoformat() if isinstance(v, date) else v


def _snapshot(row) -> None:
    """Keep this revision of the row, as it stands, in report_revisions."""
    data = {c.key: _plain(getattr(row, c.key)) for c in row.__table__.columns if c.key not in SKIP}
    db.session.add(ReportRevision(kind=KINDS[type(row)], record_id=row.id, exchange_id=row.exchange_id,
                                  revision=row.revision, data=data, recorded_by=row.recorded_by,
                                  recorded_at=utcnow()))


def _upsert(model, keys: dict, amount: Money, actor: str, **fields):
    """Insert a reported row, or correct it as a new revision when its natural key exists.

    The row gets a transient `outcome`: created, corrected or unchanged.
    """
    # locked: two racing corrections would both write revision n + 1 (the second one's snapshot a 500)
    row = db.session.scalar(select(model).filter_by(**keys).with_for_update())
    if row is None:
        row = model(**keys, amount=amount.amount, currency=amount.currency, recorded_by=actor, revision=1, **fields)
        db.session.add(row)
        db.session.flush()
        outcome = "created"
    elif (row.amount, row.currency) != (amount.amount, amount.currency) or \
            any(getattr(row, k) != v for k, v in fields.items()):
        row.amount, row.currency, row.recorded_by = amount.amount, amount.currency, actor
        for k, v in fields.items():
            setattr(row, k, v)
        row.revision += 1
        row.recorded_at = utcnow()
        outcome = "corrected"
    else:
        row.outcome = "unchanged"
        return row
    _snapshot(row)
    db.session.flush()
    row.outcome = outcome
    return row


def record_volume(ex: Exchange, month: date, product_class: str, amount: Money, actor: str) -> MonthlyVolume:
    if month.day != 1:
        raise Unprocessable("a volume month is given by its first day", {"month": ["must be YYYY-MM"]})
    return _upsert(MonthlyVolume, {"exchange_id": ex.org_id, "month": month, "product_class": product_class},
                   amount, actor)


def record_custody(ex: Exchange, as_of: date, wallet: str, amount: Money, actor: str) -> CustodyBalanceRecord:
    return _upsert(CustodyBalanceRecord, {"exchange_id": ex.org_id, "as_of": as_of, "wallet": wallet}, amount, actor)


def record_reserve_balance(ex: Exchange, as_of: date, amount: Money, actor: str) -> ReserveBalanceRecord:
    return _upsert(ReserveBalanceRecord, {"exchange_id": ex.org_id, "as_of": as_of}, amount, actor)


def cash_held(exchange_id: str, on_or_before: date) -> ReserveBalanceRecord | None:
    """The latest reserve balance reported on or before a date."""
    return db.session.scalar(select(ReserveBalanceRecord)
                             .where(ReserveBalanceRecord.exchange_id == exchange_id,
                                    ReserveBalanceRecord.as_of <= on_or_before)
                             .order_by(ReserveBalanceRecord.as_of.desc()).limit(1))


def reserve_held(exchange_id: str, net_required: Money, on: date) -> tuple[ReserveBalanceRecord | None,
                                                                           Money | None, Money]:
    """(the latest reserve balance on or before `on`, it as Money (None: none reported), the shortfall of it
    against `net_required` by domain.adequacy.shortfall): what the adequacy check, the dashboard and the
    obligation page put next to the net reserve."""
    held = cash_held(exchange_id, on)
    cash = Money(held.amount, held.currency) if held else None
    return held, cash, shortfall(net_required, cash)


def record_overheads(ex: Exchange, year: int, amount: Money, actor: str, projected: bool = False,
                     deductions: Money | None = None) -> FixedOverheads:
    """A year's fixed overheads (MiCA Art. 67(1)(b)): projected for a first year of business (Art. 67(2)),
    with the Art. 67(3) deductions (in the amount's currency, at most the amount)."""
    ded = deductions.amount if deductions is not None else 0
    if deductions is not None and deductions.currency != amount.currency:
        raise Unprocessable("deductions must be in the amount's currency", {"deductions": ["wrong currency"]})
    if ded > amount.amount:
        raise Unprocessable("the deductions exceed the overheads", {"deductions": ["must not exceed the amount"]})
    return _upsert(FixedOverheads, {"exchange_id": ex.org_id, "fiscal_year": year}, amount, actor,
                   projected=bool(projected), deductions=ded)


def record_incident(ex: Exchange, occurred_on: date, kind: str, loss: Money, compensated: Money, actor: str,
                    description: str | None = None) -> IncidentRecord:
    if kind not in INCIDENT_KINDS:
        raise Unprocessable(f"incident kind must be one of {', '.join(INCIDENT_KINDS)}", {"kind": ["invalid"]})
    if compensated > loss:
        raise Unprocessable("compensated exceeds the loss", {"compensated": ["must not exceed loss"]})
    row = IncidentRecord(exchange_id=ex.org_id, occurred_on=occurred_on, kind=kind, loss=loss.amount,
                         compensated=compensated.amount, currency=loss.currency, description=description,
                         recorded_by=actor, revision=1)
    db.session.add(row)
    db.session.flush()
    _snapshot(row)
    db.session.flush()
    row.outcome = "created"
    return row


def correct_incident(row: IncidentRecord, occurred_on: date, kind: str, loss: Money, compensated: Money,
                     actor: str, description: str | None = None) -> IncidentRecord:
    """Restate an incident as its next revision; the earlier revisions stay in report_revisions."""
    if compensated > loss:
        raise Unprocessable("compensated exceeds the loss", {"compensated": ["must not exceed loss"]})
    new = (occurred_on, kind, loss.amount, compensated.amount, loss.currency, description)
    if new == (row.occurred_on, row.kind, row.loss, row.compensated, row.currency, row.description):
        row.outcome = "unchanged"
        return row
    (row.occurred_on, row.kind, row.loss, row.compensated, row.currency, row.description) = new
    row.revision += 1
    row.recorded_by, row.recorded_at = actor, utcnow()
    _snapshot(row)
    db.session.flush()
    row.outcome = "corrected"
    return row


def history(kind: str, record_id: str) -> list[ReportRevision]:
    return db.session.scalars(select(ReportRevision).filter_by(kind=kind, record_id=record_id)
                              .order_by(ReportRevision.revision)).all()


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
        overheads=tuple(Overheads(r.fiscal_year, Money(r.amount, r.currency), bool(r.projected), r.deductions or 0)
                        for r in rows(FixedOverheads)),
    )


def reporting_currency(ex: Exchange) -> str | None:
    """The reporting currency: that of the newest rule-set published for the exchange's jurisdiction."""
    from ..rulesets import service as rulesets

    versions = [rs for _, rs in rulesets.all_versions() if rs.jurisdiction == ex.jurisdiction]
    return max(versions, key=lambda r: r.effective_from).currency if versions else None


def check_currency(rows: list[dict], ex: Exchange, fields: tuple[str, ...], batch: bool) -> None:
    """Every amount in the exchange's reporting currency, or one refusal naming each bad one."""
    cur = reporting_currency(ex)
    errors = [{"pointer": f"{f'#/{i}' if batch else '#'}/{f}/currency", "detail": f"must be {cur}"}
              for i, r in enumerate(rows) for f in fields if cur and r[f].currency != cur]
    if errors:
        raise Unprocessable(f"reports for {ex.jurisdiction} are in {cur}; nothing was recorded", errors)


def check_one_row_per_month(rows: list[dict]) -> None:
    """A batch of volumes names each month and product class once (a second row would be a silent correction)."""
    seen: dict = {}
    for i, r in enumerate(rows):
        key = (r["month"], r["product_class"])
        if key in seen:
            raise Unprocessable("the same month and class appears twice",
                                [{"pointer": f"#/{i}", "detail": f"duplicates row {seen[key]}"}])
        seen[key] = i

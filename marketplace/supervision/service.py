"""Supervision (DESIGN 10): exposure per insurer, failure scenarios and exports across the exchanges one
regulator supervises. Read-only.

Each exchange's offset comes from the code path every offset takes: the obligation's allocations from
`obligations.service.ALLOCATION_SOURCES` (the allocations feature's `domain_allocations`, with the
insurer's approvals and rating as the obligation's regulator sees them; read here for all obligations at
once by `allocations_many`, which tests hold equal to it), the rule-set it was computed under and the
reference rates on or before its period start, evaluated by `domain.offset.evaluate_offset` (through
`domain.supervision`). Cash held is the latest reserve balance on or before the day, as the
adequacy check reads it.

Which obligation of an exchange counts: its current revision for `period` when one is named; otherwise
the current revision of the earliest period that has not ended (the one in force, else the next).
"""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..allocations import service as allocations_service
from ..certificates.models import Certificate
from ..db import utcnow
from ..domain import cover
from ..domain.money import Money
from ..domain.supervision import Book, Exposure, ScenarioRow, exposure, scenario
from ..errors import NotFound, Unprocessable
from ..extensions import db
from ..fx import service as fx
from ..obligations import service as obligations
from ..obligations.models import ObligationRecord
from ..registry.models import Exchange, Organization
from ..reports.models import ReserveBalanceRecord
from ..rulesets import service as rulesets
from ..tlog.models import LogEntry

EXPORTS = ("obligations", "offsets", "certificates")
FORMATS = ("csv", "json")


def _exchanges(regulator_id: str) -> dict[str, Exchange]:
    """The regulator's exchanges with their organizations (held here: the session only keeps weak references)."""
    rows = db.session.scalars(select(Exchange).options(joinedload(Exchange.org))
                              .where(Exchange.regulator_id == regulator_id)).all()
    return {ex.org_id: ex for ex in rows}


def current_obligations(regulator_id: str, today: date, period: str | None = None,
                        every_period: bool = False) -> list[ObligationRecord]:
    """The current revisions of the regulator's exchanges: one per exchange (see the module docstring),
    or every current revision when `every_period` (exports)."""
    q = (select(ObligationRecord).join(Exchange, Exchange.org_id == ObligationRecord.exchange_id)
         .where(Exchange.regulator_id == regulator_id, ObligationRecord.superseded_at.is_(None)))
    if period:
        q = q.where(ObligationRecord.period == period)
    elif not every_period:
        q = q.where(ObligationRecord.period_end >= today)
    rows = db.session.scalars(q.order_by(ObligationRecord.exchange_id, ObligationRecord.period_start,
                                         ObligationRecord.period_end, ObligationRecord.id)).all()
    if every_period:
        return list(rows)
    chosen: dict[str, ObligationRecord] = {}
    for r in rows:
        chosen.setdefault(r.exchange_id, r)
    return list(chosen.values())


def cash_held(exchange_ids: list[str], on_or_before: date) -> dict[str, Money]:
    """{exchange: its latest reserve balance on or before the day} (reports.service.cash_held, in bulk)."""
    if not exchange_ids:
        return {}
    latest = (select(ReserveBalanceRecord.exchange_id, func.max(ReserveBalanceRecord.as_of).label("as_of"))
              .where(ReserveBalanceRecord.as_of <= on_or_before)
              .group_by(ReserveBalanceRecord.exchange_id).subquery())
    rows = db.session.execute(
        select(ReserveBalanceRecord.exchange_id, ReserveBalanceRecord.amount, ReserveBalanceRecord.currency)
        .join(latest, (latest.c.exchange_id == ReserveBalanceRecord.exchange_id)
              & (latest.c.as_of == ReserveBalanceRecord.as_of))).all()
    wanted = set(exchange_ids)
    return {e: Money(int(a), c) for e, a, c in rows if e in wanted}


def _allocations(rows: list[ObligationRecord]) -> dict[str, tuple[cover.Allocation, ...]]:
    """Every allocation source of the obligations (obligations.service.ALLOCATION_SOURCES), the allocations
    feature's read in bulk."""
    out: dict[str, list] = {r.id: [] for r in rows}
    for source in obligations.ALLOCATION_SOURCES:
        if source is allocations_service.domain_allocations:
            for ob_id, items in allocations_service.allocations_many(rows).items():
                out[ob_id] += items
        else:
            for r in rows:
                out[r.id] += source(r)
    return {k: tuple(v) for k, v in out.items()}


def books(regulator_id: str, today: date | None = None, period: str | None = None,
          rows: list[ObligationRecord] | None = None) -> list[Book]:
    today = today or utcnow().date()
    exchanges = _exchanges(regulator_id)
    rows = rows if rows is not None else current_obligations(regulator_id, today, period)
    cash = cash_held([r.exchange_id for r in rows], today)
    allocated = _allocations(rows)
    rates: dict[date, tuple] = {}
    rulesets_used: dict[tuple[str, str], object] = {}
    out = []
    for row in rows:
        if row.period_start not in rates:
            rates[row.period_start] = tuple(fx.rates(row.period_start))
        allocations = allocated[row.id]
        ref = (row.ruleset_id, row.ruleset_version)
        if ref not in rulesets_used:
            rulesets_used[ref] = rulesets.get(*ref)
        ex = exchanges[row.exchange_id]
        out.append(Book(row.exchange_id, ex.org.name, row.id, obligations.to_domain(row), allocations,
                        rates[row.period_start], rulesets_used[ref], cash.get(row.exchange_id)))
    return out


def _currency(regulator: Organization, today: date) -> str:
    try:
        return rulesets.in_force(regulator.jurisdiction, today).currency
    except NotFound:  # no rule-set in force yet: the answer is empty anyway, in the first one's currency
        future = [rs for _row, rs in rulesets.all_versions() if rs.jurisdiction == regulator.jurisdiction]
        return future[0].currency if future else "JPY"


def exposure_of(regulator: Organization, period: str | None = None, today: date | None = None) -> dict:
    today = today or utcnow().date()
    bs = books(regulator.id, today, period)
    currency = bs[0].currency if bs else _currency(regulator, today)
    table = exposure(bs, currency)
    return {"jurisdiction": regulator.jurisdiction, "as_of": today, "period": period, "exchanges": len(bs),
            **exposure_dict(table)}


def exposure_dict(table: Exposure) -> dict:
    return {
        "currency": table.currency, "total_offset": table.total_offset, "total_obligation": table.total_obligation,
        "insurers": [{"insurer": r.insurer_id, "name": r.name, "eligible_offset": r.eligible_offset,
                      "share_of_offsets": r.share_of_offsets, "exchanges": r.exchanges,
                      "exchanges_allocated": r.allocated_exchanges, "largest_share": r.largest_share,
                      "largest_share_exchange": r.largest_exchange_id} for r in table.insurers],
    }


def insurer_choices(regulator: Organization) -> list[Organization]:
    """Insurers the regulator has a standing with (any status): what a scenario may fail."""
    from ..registry.models import InsurerApproval

    return list(db.session.scalars(
        select(Organization).join(InsurerApproval, InsurerApproval.insurer_id == Organization.id)
        .where(InsurerApproval.regulator_id == regulator.id, Organization.kind == "insurer")
        .order_by(Organization.name, Organization.id)))


def check_failed(regulator: Organization, failed: list[str]) -> frozenset[str]:
    """The failed insurers must be insurers the regulator knows: those it has a standing with, and any whose
    policies insure one of its exchanges. Every other id is named, by its position in the list (an id the
    regulator cannot see is answered exactly like one that does not exist)."""
    from ..policies.models import Policy

    known = {o.id for o in insurer_choices(regulator)}
    known |= set(db.session.scalars(select(Policy.insurer_id).join(Exchange, Exchange.org_id == Policy.insured_id)
                                    .where(Exchange.regulator_id == regulator.id).distinct()))
    bad = {str(n): [f"no insurer {i}"] for n, i in enumerate(failed) if i not in known}
    if bad:
        raise Unprocessable("unknown insurer: " + ", ".join(sorted({i for i in failed if i not in known})),
                            {"failed_insurers": bad})
    return frozenset(failed)


def run_scenario(regulator: Organization, failed: list[str], period: str | None = None,
                 today: date | None = None) -> dict:
    today = today or utcnow().date()
    failed_set = check_failed(regulator, failed)
    bs = books(regulator.id, today, period)
    rows = scenario(bs, failed_set)
    currency = bs[0].currency if bs else _currency(regulator, today)
    names = dict(db.session.execute(select(Organization.id, Organization.name)
                                    .where(Organization.id.in_(failed_set))).all()) if failed_set else {}
    return {
        "jurisdiction": regulator.jurisdiction, "as_of": today, "period": period, "currency": currency,
        "failed_insurers": [{"insurer": i, "name": names.get(i, i)} for i in sorted(failed_set)],
        "exchanges": len(rows),
        "total_shortfall": Money(sum(r.shortfall.amount for r in rows), currency),
        "total_offset_lost": Money(sum(r.offset_lost.amount for r in rows), currency),
        "items": [scenario_dict(r) for r in rows],
    }


def scenario_dict(r: ScenarioRow) -> dict:
    return {"exchange": r.exchange_id, "name": r.exchange_name, "obligation_id": r.obligation_id,
            "period": r.period, "obligation": r.obligation, "offset_before": r.offset_before,
            "offset_after": r.offset_after, "net_reserve_before": r.net_reserve_before,
            "net_reserve_after": r.net_reserve_after, "cash_held": r.cash_held,
            "shortfall_before": r.shortfall_before, "shortfall": r.shortfall}


# ---- exports ----------------------------------------------------------------------------------------

COLUMNS = {
    "obligations": ["obligation_id", "exchange_id", "exchange", "licence_number", "period", "period_start",
                    "period_end", "revision", "ruleset_id", "ruleset_version", "ruleset_digest", "currency",
                    "total", "computed_at"],
    "offsets": ["obligation_id", "exchange_id", "exchange", "period", "allocation_id", "policy_id",
                "policy_number", "insurer_id", "allocated", "allocated_currency", "eligible",
                "eligible_before_caps", "eligible_offset", "currency", "failed_checks"],
    "certificates": ["certificate_id", "exchange_id", "exchange", "period", "obligation_id", "status",
                     "valid_from", "valid_until", "revoked_at", "revoked_reason", "currency", "obligation",
                     "insurance_offset", "net_reserve_required", "log_index"],
}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def export_rows(regulator: Organization, what: str, today: date | None = None) -> list[dict]:
    """Rows of an export: every current obligation revision of the regulator's exchanges (every period),
    the offset of each of their allocations, or every certificate of those exchanges."""
    today = today or utcnow().date()
    exchanges = _exchanges(regulator.id)
    if what == "certificates":
        certs = db.session.scalars(select(Certificate).where(Certificate.exchange_id.in_(list(exchanges)))
                                   .order_by(Certificate.created_at, Certificate.id)).all() if exchanges else []
        index = dict(db.session.execute(select(LogEntry.certificate_id, LogEntry.idx).where(
            LogEntry.kind == "issuance", LogEntry.certificate_id.in_([c.id for c in certs]))).all()) if certs else {}
        out = []
        for c in certs:
            subject = c.credential.get("credentialSubject", {})
            out.append({"certificate_id": c.id, "exchange_id": c.exchange_id,
                        "exchange": exchanges[c.exchange_id].org.name, "period": c.period,
                        "obligation_id": c.obligation_id, "status": c.status, "valid_from": _iso(c.valid_from),
                        "valid_until": _iso(c.valid_until), "revoked_at": _iso(c.revoked_at),
                        "revoked_reason": c.revoked_reason, "currency": subject.get("currency"),
                        "obligation": subject.get("obligation"), "insurance_offset": subject.get("insuranceOffset"),
                        "net_reserve_required": subject.get("netReserveRequired"), "log_index": index.get(c.id)})
        return out
    rows = current_obligations(regulator.id, today, every_period=True)
    if what == "obligations":
        return [{"obligation_id": r.id, "exchange_id": r.exchange_id, "exchange": exchanges[r.exchange_id].org.name,
                 "licence_number": exchanges[r.exchange_id].licence_number, "period": r.period,
                 "period_start": _iso(r.period_start), "period_end": _iso(r.period_end), "revision": r.revision,
                 "ruleset_id": r.ruleset_id, "ruleset_version": r.ruleset_version,
                 "ruleset_digest": r.ruleset_digest, "currency": r.currency, "total": str(r.total),
                 "computed_at": _iso(r.computed_at)} for r in rows]
    out = []
    for book in books(regulator.id, today, rows=rows):
        for a in book.offset().allocations:
            out.append({"obligation_id": book.obligation_id, "exchange_id": book.exchange_id,
                        "exchange": book.exchange_name, "period": book.obligation.period.label,
                        "allocation_id": a.allocation_id, "policy_id": a.policy_id,
                        "policy_number": a.policy_number, "insurer_id": a.insurer_id,
                        "allocated": str(a.allocated.amount), "allocated_currency": a.allocated.currency,
                        "eligible": a.ok, "eligible_before_caps": str(a.before_caps.amount),
                        "eligible_offset": str(a.eligible.amount), "currency": book.currency,
                        "failed_checks": "; ".join(c.detail for c in a.checks if not c.ok)})
    return out


def _cell(value) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(what: str, rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180
    w.writerow(COLUMNS[what])
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in COLUMNS[what]])
    return buf.getvalue()

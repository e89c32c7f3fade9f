"""Offerings and the request -> quote -> accept -> bind flow. Binding locks the offering row, so
capacity is never oversold (and a CHECK constraint backs that up in the database)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from ..db import utcnow
from ..db.locking import lock_row
from ..domain.errors import DomainError
from ..domain.market import Capacity, CapacityExceeded, IllegalTransition, transition
from ..domain.money import Money
from ..domain.period import term_end
from ..errors import Conflict, NotFound, Unprocessable
from ..extensions import db
from ..policies import service as policies
from ..registry import service as registry
from ..registry.models import Exchange, Organization
from .models import CoverageRequest, Offering


def _require_approved(insurer: Organization, jurisdictions: list[str]) -> None:
    approved = registry.approved_jurisdictions(insurer.id)
    missing = [j for j in jurisdictions if j not in approved]
    if missing:
        raise Conflict(f"{insurer.name} is not approved in {', '.join(missing)} and cannot list there",
                       {"jurisdictions": [f"not approved in {', '.join(missing)}"]})


def _check_terms(data: dict, errors: dict | None = None) -> None:
    """The offering's terms must hang together (creation and editing check the same)."""
    limits, cap = (data["min_limit"], data["max_limit"]), data["capacity"]
    currencies = {m.currency for m in (*limits, cap, data["deductible"])}
    if len(currencies) != 1:
        raise Unprocessable("limits, capacity and deductible must share one currency", {"currency": ["mixed"]})
    errors = dict(errors or {})
    if limits[0].amount <= 0:
        errors["min_limit"] = ["must be above 0"]  # the database refuses it too (limit_range)
    elif limits[0] > limits[1]:
        errors["min_limit"] = ["must not exceed max_limit"]
    if cap < limits[1]:
        errors["capacity"] = ["must be at least max_limit"]
    if data["min_term_months"] > data["max_term_months"]:
        errors["min_term_months"] = ["must not exceed max_term_months"]
    if errors:
        raise Unprocessable("the offering is inconsistent", errors)


def create_offering(insurer: Organization, data: dict) -> Offering:
    limits, cap = (data["min_limit"], data["max_limit"]), data["capacity"]
    _check_terms(data)
    status = data.get("status", "draft")
    if status == "listed":
        _require_approved(insurer, data["jurisdictions"])
    o = Offering(insurer_id=insurer.id, title=data["title"], perils=sorted(set(data["perils"])),
                 jurisdictions=sorted(set(data["jurisdictions"])), currency=cap.currency,
                 min_limit=limits[0].amount, max_limit=limits[1].amount, capacity=cap.amount, capacity_used=0,
                 deductible=data["deductible"].amount, min_term_months=data["min_term_months"],
                 max_term_months=data["max_term_months"], indicative_rate=str(data["indicative_rate"]),
                 cancellation_notice_days=data.get("cancellation_notice_days", 90), status=status)
    db.session.add(o)
    db.session.flush()
    return o


def update_offering(o: Offering, data: dict) -> Offering:
    """Change an offering's terms (OfferingCreate's fields, `status` aside: that is set_status's). The checks of
    create_offering, and: capacity never below what binding has already taken, the currency fixed once any
    request was made against the offering, and a listed offering stays within the insurer's approvals."""
    o = lock_row(Offering, o.id)  # bind takes capacity under the same lock
    cap = data["capacity"]
    errors = {}
    if cap.amount < o.capacity_used:
        errors["capacity"] = [f"must be at least the capacity already bound "
                              f"({Money(o.capacity_used, o.currency).format()})"]
    if cap.currency != o.currency and db.session.scalar(
            select(CoverageRequest.id).where(CoverageRequest.offering_id == o.id).limit(1)):
        errors["currency"] = [f"stays {o.currency}: requests have been made against this offering"]
    _check_terms(data, errors)
    if o.status == "listed":
        _require_approved(o.insurer, data["jurisdictions"])
    o.title, o.perils, o.jurisdictions = data["title"], sorted(set(data["perils"])), sorted(set(data["jurisdictions"]))
    o.currency, o.min_limit, o.max_limit = cap.currency, data["min_limit"].amount, data["max_limit"].amount
    o.capacity, o.deductible = cap.amount, data["deductible"].amount
    o.min_term_months, o.max_term_months = data["min_term_months"], data["max_term_months"]
    o.indicative_rate = str(data["indicative_rate"])
    o.cancellation_notice_days = data.get("cancellation_notice_days", o.cancellation_notice_days)
    db.session.flush()
    return o


def set_status(o: Offering, status: str) -> Offering:
    allowed = {"draft": {"listed", "withdrawn"}, "listed": {"withdrawn"}, "withdrawn": {"listed"}}
    if status not in allowed[o.status]:
        raise Conflict(f"cannot move an offering from {o.status} to {status}", current_state=o.status)
    if status == "listed":
        _require_approved(o.insurer, o.jurisdictions)
    o.status = status
    db.session.flush()
    return o


def _move(req: CoverageRequest, action: str) -> None:
    try:
        req.status = transition(effective_status(req), action)
    except IllegalTransition as e:
        raise Conflict(str(e), current_state=e.state) from None


def effective_status(req: CoverageRequest, now: datetime | None = None) -> str:
    if req.status == "quoted" and req.quote_expires_at and req.quote_expires_at <= (now or utcnow()):
        return "expired"
    return req.status


def create_request(ex: Exchange, o: Offering, limit: Money, term_start: date, term_months: int,
                   perils: list[str], message: str | None) -> CoverageRequest:
    errors = {}
    if o.status != "listed" or not (registry.approved_jurisdictions(o.insurer_id) & {ex.jurisdiction}):
        raise NotFound(f"no listed offering {o.id} open to {ex.jurisdiction}")
    if ex.jurisdiction not in o.jurisdictions:
        errors["offering"] = [f"this offering does not cover {ex.jurisdiction}"]
    if limit.currency != o.currency:
        errors["limit/currency"] = [f"must be {o.currency}"]
    elif not o.min_limit <= limit.amount <= o.max_limit:
        errors["limit/amount"] = [f"must be between {o.min_limit} and {o.max_limit}"]
    elif limit.amount > o.capacity - o.capacity_used:
        errors["limit/amount"] = [f"exceeds the remaining capacity {o.capacity - o.capacity_used}"]
    if not o.min_term_months <= term_months <= o.max_term_months:
        errors["term_months"] = [f"must be between {o.min_term_months} and {o.max_term_months}"]
    else:
        try:
            term_end(term_start, term_months)
        except DomainError:
            errors["term_start"] = errors["term_months"] = [
                f"the term of {term_months} months from {term_start.isoformat()} ends past the calendar"]
    extra = sorted(set(perils) - set(o.perils))
    if extra:
        errors["perils"] = [f"not offered: {', '.join(extra)}"]
    if errors:
        raise Unprocessable("the request does not fit the offering", errors)
    req = CoverageRequest(offering_id=o.id, exchange_id=ex.org_id, insurer_id=o.insurer_id, currency=o.currency,
                          limit=limit.amount, perils=sorted(set(perils or o.perils)), term_start=term_start,
                          term_months=term_months, message=message, status="requested")
    db.session.add(req)
    db.session.flush()
    return req


def quote(req: CoverageRequest, data: dict) -> CoverageRequest:
    _move(req, "quote")
    limit = data.get("limit") or Money(req.limit, req.currency)
    deductible = data.get("deductible") or Money(req.offering.deductible, req.currency)
    errors = {}
    for name, m in (("premium", data["premium"]), ("limit", limit), ("deductible", deductible)):
        if m.currency != req.currency:
            errors[f"{name}/currency"] = [f"must be {req.currency}"]
    start = data.get("term_start") or req.term_start
    try:
        end = data.get("term_end") or term_end(start, req.term_months)
    except (DomainError, OverflowError):
        end = None
        errors["term_end" if data.get("term_start") else "term_start"] = [
            f"the term of {req.term_months} months from {start.isoformat()} ends past the calendar; "
            "give a term_start and term_end"]
    if end is not None and end < start:
        errors["term_end"] = ["must not be before term_start"]
    if data["expires_at"] <= utcnow():
        errors["expires_at"] = ["must be in the future"]
    if not errors and deductible >= limit:
        errors["deductible"] = ["must be below the limit"]
    if errors:
        raise Unprocessable("the quote is inconsistent", errors)
    req.premium, req.quoted_limit, req.quoted_deductible = data["premium"].amount, limit.amount, deductible.amount
    req.quoted_term_start, req.quoted_term_end, req.quote_expires_at = start, end, data["expires_at"]
    db.session.flush()
    return req


def decline(req: CoverageRequest, reason: str) -> CoverageRequest:
    _move(req, "decline")
    req.decline_reason = reason
    db.session.flush()
    return req


def accept(req: CoverageRequest) -> CoverageRequest:
    _move(req, "accept")
    db.session.flush()
    return req


def withdraw(req: CoverageRequest) -> CoverageRequest:
    _move(req, "withdraw")
    db.session.flush()
    return req


def bind(req: CoverageRequest, number: str | None, actor: str):
    """Bind an accepted quote: take offering capacity and create the policy, in one transaction."""
    o = lock_row(Offering, req.offering_id)
    db.session.refresh(req)
    _move(req, "bind")
    try:
        taken = Capacity(o.capacity, o.capacity_used).take(req.quoted_limit)
    except CapacityExceeded as e:
        raise Conflict(f"the offering has only {Money(e.remaining, o.currency).format()} of capacity left",
                       remaining=Money(e.remaining, o.currency).as_dict()) from None
    o.capacity_used = taken.used
    ex = db.session.get(Exchange, req.exchange_id)
    p = policies.create(o.insurer, ex, number or f"MKT-{req.id[:8].upper()}", Money(req.quoted_limit, o.currency),
                        Money(req.quoted_deductible, o.currency), req.perils, req.quoted_term_start,
                        req.quoted_term_end, o.cancellation_notice_days, "market", actor,
                        territories=sorted(o.jurisdictions))  # a market policy covers where its offering applies
    req.policy_id = p.id
    db.session.flush()
    return req


def party_names(requests: list[CoverageRequest]) -> dict[str, str]:
    """Organization id -> name for the exchanges and insurers party to these (already visible) requests: an
    insurer answering a request needs to know which exchange asks, as the exchange knows its insurer."""
    ids = {r.exchange_id for r in requests} | {r.insurer_id for r in requests}
    if not ids:
        return {}
    return dict(db.session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all())

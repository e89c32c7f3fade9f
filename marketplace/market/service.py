"""Offerings and the request -> quote -> accept -> bind flow. Binding locks the offering row, so
capacity is never oversold (and a CHECK constraint backs that up in the database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Float, Numeric, String, and_, case, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, aggregate_order_by
from sqlalchemy.orm import aliased, contains_eager

from ..db import utcnow
from ..db.locking import lock_row
from ..domain import ratings
from ..domain.market import Capacity, CapacityExceeded, IllegalTransition, offering_checks, transition
from ..domain.money import Money
from ..domain.period import add_months
from ..errors import Conflict, NotFound, Unprocessable
from ..extensions import db
from ..policies import service as policies
from ..registry import service as registry
from ..registry.models import Exchange, InsurerApproval, Organization
from ..rulesets import service as rulesets
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


# ---- search: filtered, sorted and paged in SQL; only the page's rows are read and annotated ----

_PAD = "0" * 42  # indicative_rate is at most 40 characters


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _json_has(column, value):
    """SQL: the JSON list of strings in `column` holds `value` (a bound value or another column). PostgreSQL
    reads the column as jsonb (`?`: a top-level string element); SQLite walks it with json_each."""
    if _postgres():
        return cast(column, JSONB).has_key(value)
    each = func.json_each(column).table_valued("value")
    return select(literal(1)).select_from(each).where(each.c.value == value).exists()


def _json_has_all(column, values: list[str]):
    """SQL: the JSON list in `column` holds every one of `values`."""
    if _postgres():
        return cast(column, JSONB).contains(sorted(set(values)))
    return and_(*(_json_has(column, v) for v in sorted(set(values))))


def _approved_in(jurisdiction: str):
    """SQL: the offering's insurer is approved in `jurisdiction` (by a regulator there, as
    registry.approved_jurisdictions reads it). Read live on every search, never cached."""
    regulator = aliased(Organization)
    return (select(literal(1)).select_from(InsurerApproval)
            .join(regulator, regulator.id == InsurerApproval.regulator_id)
            .where(InsurerApproval.insurer_id == Offering.insurer_id, InsurerApproval.status == "approved",
                   regulator.jurisdiction == jurisdiction).exists())


def _approved_somewhere():
    """SQLite: the insurer is approved in some jurisdiction the offering lists (registry.approved_jurisdictions,
    read live, never cached): EXISTS over the approvals and json_each."""
    regulator = aliased(Organization)
    return (select(literal(1)).select_from(InsurerApproval)
            .join(regulator, regulator.id == InsurerApproval.regulator_id)
            .where(InsurerApproval.insurer_id == Offering.insurer_id, InsurerApproval.status == "approved",
                   regulator.jurisdiction.is_not(None), regulator.jurisdiction != "",
                   _json_has(Offering.jurisdictions, regulator.jurisdiction)).exists())


def _standing(caller_jurisdiction: str | None):
    """PostgreSQL: one row per insurer with a standing anywhere, joined to each offering in one hash join:
    `js`, the jurisdictions approving it (registry.approved_jurisdictions), and `rating`, the one the regulator
    of the caller's jurisdiction gave it (registry.ratings_in: the first regulator there by creation, with a
    standing; None when unrated). Read live on every search, never cached."""
    regulator = aliased(Organization)
    approved = and_(InsurerApproval.status == "approved", regulator.jurisdiction.is_not(None),
                    regulator.jurisdiction != "")
    cols = [InsurerApproval.insurer_id, func.array_agg(regulator.jurisdiction).filter(approved).label("js")]
    if caller_jurisdiction:
        first = func.array_agg(aggregate_order_by(InsurerApproval.rating, regulator.created_at, regulator.id),
                               type_=ARRAY(String)).filter(and_(regulator.kind == "regulator",
                                                                regulator.jurisdiction == caller_jurisdiction))
        cols.append(first[1].label("rating"))
    return (select(*cols).join(regulator, regulator.id == InsurerApproval.regulator_id)
            .group_by(InsurerApproval.insurer_id).subquery("standing"))


def _caller_ratings(jurisdiction: str):
    """Per insurer, the rating the regulator of `jurisdiction` gave it (registry.ratings_in: the first regulator
    there, by creation, that has a standing with the insurer)."""
    regulator = aliased(Organization)
    first = func.row_number().over(partition_by=InsurerApproval.insurer_id,
                                   order_by=(regulator.created_at, regulator.id))
    return (select(InsurerApproval.insurer_id, InsurerApproval.rating, first.label("n"))
            .join(regulator, regulator.id == InsurerApproval.regulator_id)
            .where(regulator.kind == "regulator", regulator.jurisdiction == jurisdiction)
            .subquery("caller_ratings"))


def _rate_keys() -> list:
    """ORDER BY keys equal to sorting by Decimal(indicative_rate). PostgreSQL: NUMERIC, exact. SQLite has no
    decimal type: a rate (0 < rate < 1, as str(Decimal) writes it) is either "0.ddd" (>= 1E-6), compared
    exactly as text once right-padded with zeros, or "dE-n" (< 1E-6, at most 12 significant digits: exact
    enough as REAL)."""
    rate = Offering.indicative_rate
    if _postgres():
        return [cast(rate, Numeric)]
    plain = rate.like("0.%")
    return [case((plain, 1), else_=0), case((plain, func.substr(rate + _PAD, 1, 42)), else_=None),
            case((plain, None), else_=cast(rate, Float))]


def _sort_keys(key: str, rating) -> list:
    name = key.lstrip("-")
    if name == "rate":
        keys = _rate_keys()
    elif name == "capacity":
        keys = [Offering.capacity - Offering.capacity_used]
    else:  # best rating last, unrated first: -index on the scale, -99 without one (as listed in SCALE)
        keys = [case({r: -i for i, r in enumerate(ratings.SCALE)}, value=rating, else_=-99)]
    keys.append(Offering.id)
    return [k.desc() for k in keys] if key.startswith("-") else keys


def search(q: dict, caller_jurisdiction: str | None) -> tuple[list[dict], int]:
    """One page (q["page"], q["per_page"]) of listed offerings, and how many match in all. Filter, annotate with
    rating and eligibility for the caller's rule-set, sort. Suspended or unapproved insurers' offerings drop out
    at once (approval is read live, not cached). The rating shown, filtered on, sorted by and checked is the one
    the regulator of the caller's jurisdiction gave (ratings are per regulator; None when that regulator has not
    rated the insurer).

    Filtering, sorting and paging run in SQL: a page costs the same few queries (count, page, the page's
    insurers' approvals, the rule-set) however many offerings are listed, and only the page's rows are read."""
    insurer = aliased(Organization)
    where = [Offering.status == "listed"]
    if "currency" in q:
        where.append(Offering.currency == q["currency"])
    j, standing, rated = q.get("jurisdiction"), None, None
    if _postgres():
        standing = _standing(caller_jurisdiction)
        if j:  # implies approved in a jurisdiction the offering lists
            where += [_json_has(Offering.jurisdictions, j), literal(j) == standing.c.js.any_()]
        else:
            where.append(cast(Offering.jurisdictions, JSONB).op("?|")(standing.c.js))
        rating = standing.c.rating if caller_jurisdiction else insurer.rating
    else:
        if j:  # implies approved in a jurisdiction the offering lists
            where += [_json_has(Offering.jurisdictions, j), _approved_in(j)]
        else:
            where.append(_approved_somewhere())
        rated = _caller_ratings(caller_jurisdiction) if caller_jurisdiction else None
        rating = rated.c.rating if rated is not None else insurer.rating
    if q.get("perils"):
        where.append(_json_has_all(Offering.perils, q["perils"]))
    if "min_capacity" in q:
        where.append(Offering.capacity - Offering.capacity_used >= q["min_capacity"])
    if "limit" in q:
        where += [Offering.min_limit <= q["limit"], Offering.max_limit >= q["limit"]]

    if "min_rating" in q:  # (rating without a caller's jurisdiction: the admission rating)
        where.append(rating.in_(ratings.SCALE[:ratings.SCALE.index(q["min_rating"]) + 1]))

    def joined(stmt):
        stmt = stmt.select_from(Offering)
        if not caller_jurisdiction:  # the rating is the insurer's own
            stmt = stmt.join(insurer, insurer.id == Offering.insurer_id)
        if standing is not None:
            stmt = stmt.join(standing, standing.c.insurer_id == Offering.insurer_id)
        if rated is not None:
            stmt = stmt.outerjoin(rated, and_(rated.c.insurer_id == Offering.insurer_id, rated.c.n == 1))
        return stmt.where(*where)

    total = db.session.scalar(joined(select(func.count())))
    offset = (q["page"] - 1) * q["per_page"]  # may exceed what the database driver takes: past the end anyway
    if offset >= total:
        return [], total
    sort = q.get("sort", "rate")
    # the page's ids are chosen on narrow rows; only they are then read whole, with their insurer
    page = (joined(select(Offering.id, rating.label("rating"))).order_by(*_sort_keys(sort, rating))
            .limit(q["per_page"]).offset(offset).subquery("page"))
    shown = aliased(Organization)
    rows = db.session.execute(select(Offering, page.c.rating).join(page, page.c.id == Offering.id)
                              .join(shown, shown.id == Offering.insurer_id)
                              .options(contains_eager(Offering.insurer.of_type(shown)))
                              .order_by(*_sort_keys(sort, page.c.rating))).all()
    approvals = registry.approved_jurisdictions_of({o.insurer_id for o, _ in rows})
    rs = None
    if caller_jurisdiction and rows:
        try:
            rs = rulesets.in_force(caller_jurisdiction, date.today())
        except NotFound:
            rs = None
    out = []
    for o, rating in rows:
        checks = (offering_checks(frozenset(o.perils), o.max_term_months, rating, approvals[o.insurer_id],
                                  caller_jurisdiction, rs) if rs else [])
        out.append({"offering": o, "remaining_capacity": o.capacity - o.capacity_used, "insurer_rating": rating,
                    "eligibility": {"ruleset": f"{rs.id}@{rs.version}" if rs else None,
                                    "eligible": bool(rs) and all(c.ok for c in checks),
                                    "failing_checks": [c.name for c in checks if not c.ok],
                                    "checks": [c.as_dict() for c in checks]}})
    return out, total


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
    end = data.get("term_end") or add_months(start, req.term_months) - timedelta(days=1)
    if end < start:
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

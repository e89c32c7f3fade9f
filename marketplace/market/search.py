"""The market search (GET /api/v1/offerings and the portal's market page): listed offerings filtered,
sorted and paged in SQL, then only the page's rows read and annotated with rating and eligibility."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Float, Numeric, String, and_, case, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, aggregate_order_by
from sqlalchemy.orm import aliased, contains_eager

from ..domain import ratings
from ..domain.market import offering_checks
from ..errors import NotFound
from ..extensions import db
from ..registry import service as registry
from ..registry.models import InsurerApproval, Organization
from ..rulesets import service as rulesets
from .models import Offering

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

"""The market search (GET /api/v1/offerings and the portal's market page): listed offerings filtered,
sorted and paged in SQL, then only the page's rows read and annotated with rating and eligibility.

Every insurer's standing (where it is approved, how the caller's regulator rates it) is known first; the
offerings query then filters on it as literal insurer lists, so PostgreSQL reads the first page off the
(status, rate, id) index instead of sorting every listed offering. market_state.version moves on in every
transaction that changes offerings, organizations, rule-set versions or insurer approvals (triggers:
migrations 0013, 0014, 0016), so whatever is read with one version is the same for as long as the version
is: the standings (here), totals (here) and whole answers (the API route) are cached keyed by it, and a
search whose market is cached reads the version alone (one row) before its page."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.orm import aliased, contains_eager

from ..cache import LRU
from ..domain import ratings
from ..domain.market import offering_checks
from ..domain.rulesets import RuleSet
from ..errors import NotFound
from ..extensions import db, plain_rows
from ..registry.models import InsurerApproval, Organization
from ..rulesets import service as rulesets
from .models import MarketState, Offering

_TOTALS = LRU(512)  # Market.key of the filters -> how many offerings match
_MARKETS = LRU(64)  # (database, version, caller's jurisdiction, today) -> Market
_VERSION_ROW = select(MarketState.version).where(MarketState.id == 1)
_VERSION = _VERSION_ROW.scalar_subquery()
PAGING = ("page", "per_page", "sort")  # what a search asks that does not change its total


@dataclass(frozen=True)
class Standing:
    approved_in: frozenset[str]  # registry.approved_jurisdictions
    rating: str | None  # by the caller's regulator (registry.ratings_in), else the insurer's own rating


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _json_has(column, value):
    """SQL: the JSON list of strings in `column` holds `value`. PostgreSQL reads the column as jsonb (`?`: a
    top-level string element); SQLite walks it with json_each."""
    if _postgres():
        return cast(column, JSONB).has_key(value)
    each = func.json_each(column).table_valued("value")
    return select(literal(1)).select_from(each).where(each.c.value == value).exists()


def _json_has_any(column, values):
    """SQL: the JSON list in `column` holds at least one of `values`."""
    if _postgres():
        return cast(column, JSONB).has_any(array(sorted(values)))
    return or_(*(_json_has(column, v) for v in sorted(values)))


def _json_has_all(column, values: list[str]):
    """SQL: the JSON list in `column` holds every one of `values`."""
    if _postgres():
        return cast(column, JSONB).contains(sorted(set(values)))
    return and_(*(_json_has(column, v) for v in sorted(set(values))))


@functools.cache
def _standings_query():
    """Built once (it takes no parameters): building the aliases costs more than running it."""
    regulator, insurer = aliased(Organization), aliased(Organization)
    return (select(InsurerApproval.insurer_id, InsurerApproval.status, InsurerApproval.rating, regulator.kind,
                   regulator.jurisdiction, insurer.rating, _VERSION)
            .join(regulator, regulator.id == InsurerApproval.regulator_id)
            .join(insurer, insurer.id == InsurerApproval.insurer_id)
            .order_by(regulator.created_at, regulator.id))


def standings(caller_jurisdiction: str | None) -> tuple[dict[str, Standing], int | None]:
    """Every insurer with a standing anywhere -> Standing, and the market's version, in one statement (one
    snapshot): what market() keeps under that version."""
    rows = db.session.execute(_standings_query()).all()
    if not rows:
        return {}, None
    approved: dict[str, set[str]] = {}
    rated: dict[str, str | None] = {}
    for insurer_id, status, rating, kind, jurisdiction, own_rating, _ in rows:
        approved.setdefault(insurer_id, set())
        if status == "approved" and jurisdiction:
            approved[insurer_id].add(jurisdiction)
        if not caller_jurisdiction:
            rated[insurer_id] = own_rating
        elif kind == "regulator" and jurisdiction == caller_jurisdiction and insurer_id not in rated:
            rated[insurer_id] = rating  # the first regulator there, by creation, with a standing
    return {i: Standing(frozenset(js), rated.get(i)) for i, js in approved.items()}, rows[0][-1]


def _approved(where_jurisdiction: str | None, standing: dict[str, Standing]):
    """SQL: the offering's insurer is approved in a jurisdiction the offering lists (in `where_jurisdiction`,
    when the search names one), as literal insurer lists grouped by where each is approved. None: nobody."""
    if where_jurisdiction:
        ids = sorted(i for i, s in standing.items() if where_jurisdiction in s.approved_in)
        return and_(Offering.insurer_id.in_(ids), _json_has(Offering.jurisdictions, where_jurisdiction)) \
            if ids else None
    groups: dict[frozenset[str], list[str]] = {}
    for insurer_id, s in sorted(standing.items()):
        if s.approved_in:
            groups.setdefault(s.approved_in, []).append(insurer_id)
    if not groups:
        return None
    return or_(*(and_(Offering.insurer_id.in_(ids), _json_has_any(Offering.jurisdictions, js))
                 for js, ids in sorted(groups.items(), key=lambda g: sorted(g[0]))))


def _rating_rank(standing: dict[str, Standing]):
    """SQL: the insurer's rating as a rank, best highest (-index on the scale; -99 unrated, as listed first
    in SCALE order)."""
    ranks = {i: -ratings.SCALE.index(s.rating) for i, s in standing.items() if s.rating in ratings.SCALE}
    return case(ranks, value=Offering.insurer_id, else_=-99) if ranks else literal(-99)


def _sort_keys(key: str, standing: dict[str, Standing]) -> list:
    name = key.lstrip("-")
    if name == "rate":
        keys = [Offering.indicative_rate_e18]  # exact: domain.rate_e18
    elif name == "capacity":
        keys = [Offering.capacity - Offering.capacity_used]
    else:
        keys = [_rating_rank(standing)]
    keys.append(Offering.id)
    return [k.desc() for k in keys] if key.startswith("-") else keys


def _total(where: list, key: tuple | None) -> int:
    """How many offerings match. Cached by `key` (Market.key: the market's version first, as read with the
    standings); on a miss, the count and the version it holds for are read in one statement (one snapshot)."""
    count = select(func.count()).select_from(Offering).where(*where)
    if key is None:  # no version row to key by: count every time
        return db.session.scalar(count)
    cached = _TOTALS.get(key)
    if cached is not None:
        return cached
    seen, total = db.session.execute(select(_VERSION, count.scalar_subquery())).one()
    return _TOTALS.put((seen, *key[1:]), total)


@dataclass(frozen=True)
class Market:
    """What a search knows before its page: every insurer's standing, the market's version, the caller's
    rule-set in force today. Built once per (version, caller's jurisdiction, day) in each process."""
    caller: str | None
    standing: dict[str, Standing]
    version: int | None
    ruleset: RuleSet | None
    today: date

    def key(self, q: dict) -> tuple | None:
        """A key that names one answer to the search `q` forever (an answer may be cached under it): it holds
        everything the answer depends on. None when there is no version to key by."""
        if self.version is None:
            return None
        asked = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in q.items()))
        return *self._prefix, asked

    @functools.cached_property
    def _prefix(self) -> tuple:
        rs = (self.ruleset.id, self.ruleset.version, self.ruleset.digest) if self.ruleset else None
        return self.version, self.caller, self.today, rs, tuple(sorted(self.standing.items()))


def _read(caller_jurisdiction: str | None, today: date) -> Market:
    standing, version = standings(caller_jurisdiction)
    rs = None
    if caller_jurisdiction:
        try:
            rs = rulesets.in_force(caller_jurisdiction, today, version)  # headers cached by the market version
        except NotFound:
            rs = None
    return Market(caller_jurisdiction, standing, version, rs, today)


def market(caller_jurisdiction: str | None) -> Market:
    """The market as of now: the version read (one row), and the Market built at that version if this process
    has one; else the standings read (with the version they hold for, one snapshot) and kept under it. A
    suspension, a new rating or a published rule-set moves the version, so the next search sees it."""
    today, where = date.today(), db.engine.url  # the database too: a test process has two
    version = plain_rows(_VERSION_ROW).scalar()
    cached = _MARKETS.get((where, version, caller_jurisdiction, today)) if version is not None else None
    if cached is not None:
        return cached
    now = _read(caller_jurisdiction, today)
    if now.version is not None:
        _MARKETS.put((where, now.version, caller_jurisdiction, today), now)
    return now


def search(q: dict, caller_jurisdiction: str | None, now: Market | None = None) -> tuple[list[dict], int]:
    """One page (q["page"], q["per_page"]) of listed offerings, and how many match in all. Filter, annotate with
    rating and eligibility for the caller's rule-set, sort. Suspended or unapproved insurers' offerings drop out
    at once (a standing that changes moves the market's version). The rating shown, filtered on, sorted by and
    checked is the one the regulator of the caller's jurisdiction gave (ratings are per regulator; None when
    that regulator has not rated the insurer); without a caller's jurisdiction, the insurer's own. `now`: the
    market as the caller has just read it (market()), else read here.

    A page costs the same few queries (the market's version; the standings and the rule-set when that version
    is new to this process; the count when not cached; the page) however many offerings are listed, and only
    the page's rows are read."""
    now = now or market(caller_jurisdiction)
    standing, rs = now.standing, now.ruleset
    approved = _approved(q.get("jurisdiction"), standing)
    if approved is None:
        return [], 0
    where = [Offering.status == "listed", approved]
    if "currency" in q:
        where.append(Offering.currency == q["currency"])
    if q.get("perils"):
        where.append(_json_has_all(Offering.perils, q["perils"]))
    if "min_capacity" in q:
        where.append(Offering.capacity - Offering.capacity_used >= q["min_capacity"])
    if "limit" in q:
        where += [Offering.min_limit <= q["limit"], Offering.max_limit >= q["limit"]]
    if "min_rating" in q:
        good = set(ratings.SCALE[:ratings.SCALE.index(q["min_rating"]) + 1])
        where.append(Offering.insurer_id.in_(sorted(i for i, s in standing.items() if s.rating in good)))

    total = _total(where, now.key({k: v for k, v in q.items() if k not in PAGING}))
    offset = (q["page"] - 1) * q["per_page"]  # may exceed what the database driver takes: past the end anyway
    if offset >= total:
        return [], total
    rows = db.session.scalars(select(Offering).join(Offering.insurer).options(contains_eager(Offering.insurer))
                              .where(*where)
                              .order_by(*_sort_keys(q.get("sort", "rate"), standing))
                              .limit(q["per_page"]).offset(offset)).all()
    out = []
    for o in rows:
        s = standing[o.insurer_id]
        checks = (offering_checks(frozenset(o.perils), o.max_term_months, s.rating, s.approved_in,
                                  caller_jurisdiction, rs) if rs else [])
        out.append({"offering": o, "remaining_capacity": o.capacity - o.capacity_used, "insurer_rating": s.rating,
                    "eligibility": {"ruleset": f"{rs.id}@{rs.version}" if rs else None,
                                    "eligible": bool(rs) and all(c.ok for c in checks),
                                    "failing_checks": [c.name for c in checks if not c.ok],
                                    "checks": [c.as_dict() for c in checks]}})
    return out, total

"""Query budgets of the hot read routes (issue 15), counted through the Flask test client on SQLite and PostgreSQL:
the offerings search costs the same few statements whatever the number of offerings (filtered, sorted and paged in
SQL, with the same answers as filtering everything in Python), a bearer token is checked in one statement, an
offset report's statements do not grow with its allocations, and rule-sets are cached by digest only (a version
published after a request is used by the very next one). Counts, never timings."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import insert, select

from marketplace.allocations.models import Allocation
from marketplace.auth import service as auth
from marketplace.db import new_id
from marketplace.domain import ratings
from marketplace.domain.market import offering_checks, rate_e18
from marketplace.domain.rulesets import parse_ruleset
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.market import search as market
from marketplace.market.models import Offering
from marketplace.obligations.models import ObligationRecord
from marketplace.policies.models import Policy
from marketplace.registry import service as registry
from marketplace.registry.models import Exchange, InsurerApproval, Organization
from marketplace.rulesets import service as rulesets
from tests.bearer import bearer_headers
from tests.sql_statements import statements

R = "/api/v1"
PERILS = ["theft_hack", "insider_fraud", "operational_failure", "custodian_failure", "business_disruption"]


def org(kind: str, name: str) -> Organization:
    return db.session.scalar(select(Organization).filter_by(kind=kind, name=name))


def bearer(app, who: str) -> dict:
    return bearer_headers(app, db.session.get(Organization, who))


def get(app, path: str, headers: dict, **kw):
    """(response, the statements it ran), on a fresh session as a new request would have."""
    db.session.remove()
    with statements() as seen:
        r = app.test_client().get(path, headers=headers, **kw)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r, list(seen)


RATES = ["0.012", "0.01", "0.010", "0.0095", "0.1", "1E-7", "1.0E-7", "2.5E-7", "0.123456789012345678",
         "0.123456789012345679", "0.5", "0.000001"]


def add_offerings(n: int, insurers: list[str], start: int = 0) -> None:
    juris = [["JP"], ["EU"], ["HK"], ["JP", "EU", "HK"], ["EU", "JP"], ["US"]]
    currencies = ["JPY", "EUR", "HKD", "USD"]
    rows = []
    for k in range(start, start + n):
        lo = 100_000_000 + (k % 7) * 10_000_000
        rows.append({"id": new_id(), "insurer_id": insurers[k % len(insurers)], "title": f"Budget cover {k}",
                     "perils": PERILS[k % 3: 3 + k % 3], "jurisdictions": juris[k % len(juris)],
                     "currency": currencies[k % 4], "min_limit": lo, "max_limit": lo * 10, "capacity": lo * 40,
                     "capacity_used": (k % 5) * lo, "deductible": lo // 10, "min_term_months": 6,
                     "max_term_months": 12 + 12 * (k % 3), "indicative_rate": RATES[k % len(RATES)],
                     "indicative_rate_e18": rate_e18(RATES[k % len(RATES)]),
                     "cancellation_notice_days": 90, "status": "listed" if k % 9 else "withdrawn",
                     "lock_version": 0})
    db.session.execute(insert(Offering), rows)
    db.session.commit()


@pytest.fixture
def market_world(demo):
    """Ids (sessions are removed between requests, as each request starts afresh)."""
    insurers = [org("insurer", n).id for n in ("Tokio Mutual Cyber", "Harbour Specialty Re", "Nova Digital Assurance")]
    return {"insurers": insurers, "sakura": org("exchange", "Sakura Digital Exchange").id,
            "fsa": registry.find_regulator("JP").id, "sfc": registry.find_regulator("HK").id}


QUERIES = [{}, {"sort": "-rate"}, {"sort": "capacity"}, {"sort": "-capacity"}, {"sort": "rating"},
           {"sort": "-rating"}, {"jurisdiction": "JP"}, {"jurisdiction": "EU", "sort": "-rate"},
           {"perils": "theft_hack,insider_fraud"}, {"currency": "JPY", "min_capacity": 2_000_000_000},
           {"min_rating": "A", "sort": "-capacity"}, {"min_rating": "BBB", "jurisdiction": "HK"},
           {"limit": 150_000_000, "sort": "rating"}, {"jurisdiction": "US"}]


def test_offerings_query_count_does_not_grow_with_offerings(market_world):
    app = current_app._get_current_object()
    headers = bearer(app, market_world["sakura"])
    add_offerings(5, market_world["insurers"])
    small = {}
    for q in QUERIES:
        r, seen = get(app, f"{R}/offerings", headers, query_string={"per_page": 5, **q})
        small[json.dumps(q)] = len(seen)
        # token, the market's version; the standings and the rule-set when the version is new to this process
        # (the first query after add_offerings), the count when the filters are; the page
        assert len(seen) <= 6, seen
        assert sum("FROM insurer_approvals" in s for s in seen) == (q is QUERIES[0]), (q, seen)
    add_offerings(200, market_world["insurers"], start=5)
    for q in QUERIES:
        r, seen = get(app, f"{R}/offerings", headers, query_string={"per_page": 5, **q})
        assert len(seen) == small[json.dumps(q)], (q, seen)
        assert r.json["total"] > 0 or q.get("jurisdiction") == "US"
    r, seen = get(app, f"{R}/offerings", headers, query_string={"page": 2 ** 62})  # past the end: no page read
    # token, the market's version: the standings, the total and the published rule-set versions are cached by it
    assert r.json["items"] == [] and len(seen) == 2, seen
    assert "FROM market_state" in seen[1] and "insurer_approvals" not in seen[1], seen


def reference_search(q: dict, caller_jurisdiction: str | None) -> list[dict]:
    """The search as it was before issue 15: every listed offering read, filtered and sorted in Python."""
    offerings = db.session.scalars(select(Offering).where(Offering.status == "listed")).all()
    if "currency" in q:
        offerings = [o for o in offerings if o.currency == q["currency"]]
    approvals = {i: registry.approved_jurisdictions(i) for i in {o.insurer_id for o in offerings}}
    rated = registry.ratings_in(caller_jurisdiction, approvals)
    try:
        rs = rulesets.in_force(caller_jurisdiction, date.today()) if caller_jurisdiction else None
    except NotFound:
        rs = None
    out = []
    for o in offerings:
        if not approvals[o.insurer_id] & set(o.jurisdictions):
            continue
        j = q.get("jurisdiction")
        if j and (j not in o.jurisdictions or j not in approvals[o.insurer_id]):
            continue
        if not set(q.get("perils", [])) <= set(o.perils):
            continue
        remaining = o.capacity - o.capacity_used
        if "min_capacity" in q and remaining < q["min_capacity"]:
            continue
        rating = rated.get(o.insurer_id) if caller_jurisdiction else o.insurer.rating
        if "min_rating" in q and not ratings.at_least(rating, q["min_rating"]):
            continue
        if "limit" in q and not (o.min_limit <= q["limit"] <= o.max_limit):
            continue
        checks = (offering_checks(frozenset(o.perils), o.max_term_months, rating, approvals[o.insurer_id],
                                  caller_jurisdiction, rs) if rs else [])
        out.append({"id": o.id, "remaining_capacity": remaining, "insurer_rating": rating,
                    "rate": o.indicative_rate, "failing": [c.name for c in checks if not c.ok],
                    "eligible": bool(rs) and all(c.ok for c in checks)})
    key = q.get("sort", "rate")
    sorters = {"rate": lambda r: Decimal(r["rate"]), "capacity": lambda r: r["remaining_capacity"],
               "rating": lambda r: -ratings.SCALE.index(r["insurer_rating"]) if r["insurer_rating"] else -99}
    out.sort(key=lambda r: (sorters[key.lstrip("-")](r), r["id"]), reverse=key.startswith("-"))
    return out


def test_search_in_sql_answers_as_filtering_everything_in_python(market_world):
    insurers = market_world["insurers"]
    add_offerings(120, insurers)
    # one regulator's decisions change only its jurisdiction: suspend Harbour in HK, rate Tokio down in JP
    regulator = {k: db.session.get(Organization, market_world[k]) for k in ("fsa", "sfc")}
    registry.set_insurer_status(db.session.get(Organization, insurers[1]), regulator["sfc"], "suspended", "test")
    registry.set_rating(db.session.get(Organization, insurers[0]), regulator["fsa"], "BBB-", "test")
    db.session.commit()
    for caller in ("JP", "EU", "HK", None):
        for q in QUERIES:
            loaded = {**q, "perils": q["perils"].split(",")} if "perils" in q else dict(q)
            expected = reference_search(loaded, caller)
            got, total, page = [], None, 1
            while True:
                hits, total = market.search({**loaded, "page": page, "per_page": 7}, caller)
                if not hits:
                    break
                got += [{"id": h["offering"].id, "remaining_capacity": h["remaining_capacity"],
                         "insurer_rating": h["insurer_rating"], "rate": h["offering"].indicative_rate,
                         "failing": h["eligibility"]["failing_checks"], "eligible": h["eligibility"]["eligible"]}
                        for h in hits]
                page += 1
            assert total == len(expected), (caller, q)
            assert got == expected, (caller, q)


def test_bearer_token_is_one_query_and_keeps_every_check(market_world):
    app = current_app._get_current_object()
    headers = bearer(app, market_world["sakura"])
    token = headers["Authorization"].split()[1]
    db.session.remove()
    with statements() as seen:
        t = auth.find_bearer(token)
        p = (t.is_expired(), t.is_revoked(), t.get_scope(), t.org.kind, t.org.jurisdiction)
    assert len(seen) == 1 and p[:2] == (False, False) and p[3] == "exchange"
    _, seen = get(app, f"{R}/offerings", headers, query_string={"per_page": 1})
    assert sum("oauth_tokens" in s for s in seen) == 1 and not any("oauth_clients" in s and "oauth_tokens" not in s
                                                                  for s in seen)
    client = app.test_client()
    assert client.get(f"{R}/offerings", headers={"Authorization": "Bearer nope"}).status_code == 401
    # a revoked client's tokens stop working at once
    cid = db.session.scalar(select(auth.OAuthToken.client_id).filter_by(token_hash=auth.token_hash(token)))
    auth.revoke_client(auth.get_client(cid))
    db.session.commit()
    assert client.get(f"{R}/offerings", headers=headers).status_code == 401
    # an expired token too
    other = bearer(app, market_world["sakura"])
    t = auth.find_token(other["Authorization"].split()[1])
    t.issued_at -= t.expires_in + 1
    db.session.commit()
    assert client.get(f"{R}/offerings", headers=other).status_code == 401
    # a token without the scope: 403
    narrow = bearer_headers(app, db.session.get(Organization, market_world["sakura"]), ["obligations:read"])
    assert client.get(f"{R}/offerings", headers=narrow).status_code == 403


def add_allocations(ob_id: str, n: int, insurers: list[str]) -> None:
    ob = db.session.get(ObligationRecord, ob_id)
    ex = db.session.get(Exchange, ob.exchange_id)
    policies, allocs = [], []
    for k in range(n):
        pid = new_id()
        policies.append({"id": pid, "insurer_id": insurers[k % len(insurers)], "number": f"QB-{k:05d}-{pid[:6]}",
                         "insured_id": ex.org_id, "currency": ob.currency, "limit_amount": 1_000_000_000,
                         "deductible": 10_000_000, "perils": PERILS[:3], "territories": [ex.jurisdiction],
                         "term_start": ob.period_start - timedelta(days=400),
                         "term_end": ob.period_end + timedelta(days=400),
                         "cancellation_notice_days": 90, "status": "active", "revision": 1, "source": "registered",
                         "lock_version": 0})
        allocs.append({"id": new_id(), "policy_id": pid, "obligation_id": ob.id, "exchange_id": ex.org_id,
                       "amount": 1_000_000 + k, "currency": ob.currency, "status": "live", "over_limit": False,
                       "created_by": "test"})
    db.session.execute(insert(Policy), policies)
    db.session.execute(insert(Allocation), allocs)
    db.session.commit()


def test_offset_query_count_does_not_grow_with_allocations(market_world):
    app = current_app._get_current_object()
    headers = bearer(app, market_world["sakura"])
    ob = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=market_world["sakura"]))
    path = f"{R}/obligations/{ob}/offset"
    get(app, path, headers)  # the rule-set parsed once (by digest), as any request after the first finds it
    _, seen_first = get(app, path, headers)
    assert len(seen_first) == 2, seen_first  # the token, then the report in one statement (allocations.report)
    assert not any("ruleset_versions.document" in s for s in seen_first)  # the parse is cached by digest
    add_allocations(ob, 3, market_world["insurers"][:2])
    three, seen_three = get(app, path, headers)
    add_allocations(ob, 40, market_world["insurers"][:2])
    many, seen_many = get(app, path, headers)
    assert len(seen_three) == len(seen_many) == 2, seen_many
    assert len(many.json["allocations"]) == len(three.json["allocations"]) + 40


def test_a_ruleset_version_published_after_a_request_is_used_by_the_next(market_world):
    app = current_app._get_current_object()
    headers = bearer(app, market_world["sakura"])
    add_offerings(10, market_world["insurers"][:1])
    base = db.session.execute(select(rulesets.RuleSetVersion.ruleset_id, rulesets.RuleSetVersion.document)
                              .filter_by(jurisdiction="JP").order_by(rulesets.RuleSetVersion.effective_from.desc())
                              ).first()
    r, _ = get(app, f"{R}/offerings", headers, query_string={"jurisdiction": "JP"})
    before = r.json["items"][0]["eligibility"]["ruleset"]
    def published_elsewhere(doc) -> None:  # by another worker: its own thread, session and connection
        def publish():
            with app.app_context():
                rulesets.publish(parse_ruleset(doc), market_world["fsa"])
                db.session.commit()
                db.session.remove()

        worker = threading.Thread(target=publish)
        worker.start()
        worker.join()

    for version in ("98", "99"):
        doc = {**json.loads(base.document), "version": version, "effective_from": date.today().isoformat()}
        if version == "98":
            rulesets.publish(parse_ruleset(doc), market_world["fsa"])
            db.session.commit()
        else:
            published_elsewhere(doc)
        r, _ = get(app, f"{R}/offerings", headers, query_string={"jurisdiction": "JP"})
        assert r.json["items"][0]["eligibility"]["ruleset"] == f"{base.ruleset_id}@{version}" != before
    r, seen = get(app, f"{R}/offerings", headers, query_string={"jurisdiction": "JP"})
    assert not any("ruleset_versions.document" in s for s in seen)  # parsed once per digest


def test_a_cached_total_moves_with_any_change_to_offerings_made_elsewhere(market_world):
    """Totals are cached by market_state.version, which the database moves on in every transaction that
    changes offerings, however it is written (here: plain SQL on another connection, as another worker)."""
    add_offerings(30, market_world["insurers"])

    def total() -> tuple[int, list[str]]:
        db.session.remove()
        with statements() as seen:
            _, n = market.search({"page": 1, "per_page": 5}, "JP")
        return n, [s for s in seen if "count(" in s]

    first, counted = total()
    assert counted  # a miss: counted
    again, counted = total()
    assert (again, counted) == (first, [])  # nothing changed: the cached total, no count

    def elsewhere(stmt) -> None:
        with db.engine.begin() as conn:
            conn.execute(stmt)

    one = market.search({"page": 1, "per_page": 1}, "JP")[0][0]["offering"].id
    before, _ = total()
    elsewhere(Offering.__table__.update().where(Offering.id == one).values(status="withdrawn"))
    after, counted = total()
    assert counted and after == before - 1 == len(reference_search({}, "JP"))
    elsewhere(Offering.__table__.update().where(Offering.id == one).values(status="listed"))
    assert total()[0] == before
    add_offerings(9, market_world["insurers"], start=30)  # 8 listed (every 9th is withdrawn), some in US only
    assert total()[0] == len(reference_search({}, "JP")) > before


def test_a_cached_search_answer_changes_with_anything_it_shows(market_world):
    """GET /api/v1/offerings answers from a cache keyed by everything the answer depends on (search.Market.key):
    a repeat costs the token and the market's version (one row) only; each change below, made on another
    connection as another worker would, shows in the very next answer."""
    app = current_app._get_current_object()
    headers = bearer(app, market_world["sakura"])
    add_offerings(12, market_world["insurers"])
    query = {"per_page": 50, "sort": "-rate"}
    first, _ = get(app, f"{R}/offerings", headers, query_string=query)
    again, seen = get(app, f"{R}/offerings", headers, query_string=query)
    assert again.get_data() == first.get_data() and again.headers["Link"] == first.headers["Link"]
    assert len(seen) == 2 and not any("FROM offerings" in s or "FROM ruleset_versions" in s
                                      or "insurer_approvals" in s for s in seen), seen

    def elsewhere(stmt) -> None:
        with db.engine.begin() as conn:
            conn.execute(stmt)

    def answer() -> dict:
        return get(app, f"{R}/offerings", headers, query_string=query)[0].json

    top = first.json["items"][0]["offering"]
    insurer = top["insurer"]
    elsewhere(Organization.__table__.update().where(Organization.id == insurer).values(name="Renamed Mutual"))
    assert {h["offering"]["insurer_name"] for h in answer()["items"] if h["offering"]["insurer"] == insurer} \
        == {"Renamed Mutual"}
    elsewhere(Offering.__table__.update().where(Offering.id == top["id"]).values(capacity_used=0))
    assert next(h for h in answer()["items"] if h["offering"]["id"] == top["id"])["remaining_capacity"]["amount"] \
        == top["capacity"]["amount"]
    # the Japanese regulator rates the insurer down: the rating shown changes (the approvals' trigger, 0016,
    # moves the market's version, and the standings are read again)
    rated = answer()
    elsewhere(InsurerApproval.__table__.update().where(
        InsurerApproval.insurer_id == insurer,
        InsurerApproval.regulator_id == market_world["fsa"]).values(rating="BBB-"))
    after = answer()
    assert {h["insurer_rating"] for h in after["items"] if h["offering"]["insurer"] == insurer} == {"BBB-"}
    assert after != rated

"""Properties of compute_obligation over random JP, EU and HK facts."""

import copy
import random
from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.domain.facts import Custodian, CustodyBalance, ExchangeFacts, Incident, Volume
from marketplace.domain.money import Money
from marketplace.domain.obligation import compute_obligation
from marketplace.domain.period import Period
from marketplace.domain.rulesets import parse_ruleset

from .helpers import HK, JP, MONTHS_2026, shipped, shipped_document

Q1 = Period.parse("2027-Q1")
RS = shipped(JP)
KINDS = ["hack", "insider_fraud", "operational_failure", "custodian_failure", "other"]
amounts = st.integers(0, 10**14)


@st.composite
def incidents(draw):
    n = draw(st.integers(0, 6))
    out = []
    for i in range(n):
        loss = draw(st.integers(0, 10**10))
        out.append(Incident(f"i{i}", draw(st.dates(date(2019, 1, 1), date(2026, 12, 31))),
                            draw(st.sampled_from(KINDS)), Money(loss, "JPY"),
                            Money(draw(st.integers(0, loss)), "JPY")))
    return tuple(out)


@st.composite
def jp_facts(draw):
    vols = tuple(Volume(m, c, Money(draw(amounts), "JPY"))
                 for m in MONTHS_2026 for c in draw(st.sets(st.sampled_from(["spot", "derivatives", "margin"]),
                                                            min_size=1)))
    custody = (CustodyBalance(date(2026, 12, 31), "hot", Money(draw(amounts), "JPY")),)
    custodians = tuple(Custodian(f"c{i}", f"C{i}", draw(st.booleans())) for i in range(draw(st.integers(0, 2))))
    return ExchangeFacts("ex", "X", "L", "JP", vols, custody, draw(incidents()), custodians)


def total(facts, rs=RS):
    return compute_obligation(facts, Q1, rs).total.amount


@given(jp_facts())
def test_lines_sum_exactly_to_total(facts):
    ob = compute_obligation(facts, Q1, RS)
    assert sum(ln.amount.amount for ln in ob.lines) == ob.total.amount
    assert ob.total.amount >= 0


@given(jp_facts(), st.integers(0, 11), st.integers(1, 10**13))
def test_monotone_in_volume(facts, i, extra):
    bumped = list(facts.volumes)
    v = bumped[i % len(bumped)]
    bumped[i % len(bumped)] = replace(v, amount=Money(v.amount.amount + extra, "JPY"))
    assert total(replace(facts, volumes=tuple(bumped))) >= total(facts)


@given(jp_facts(), incidents())
def test_monotone_in_incident_count(facts, more):
    extra = tuple(replace(i, id="new-" + i.id) for i in more)
    assert total(replace(facts, incidents=facts.incidents + extra)) >= total(facts)


@given(jp_facts(), st.sampled_from(KINDS), st.dates(date(2019, 1, 1), date(2026, 12, 31)),
       st.dates(date(2019, 1, 1), date(2026, 12, 31)), st.booleans())
def test_older_incident_never_weighs_more(facts, kind, d1, d2, repaid):
    newer, older = max(d1, d2), min(d1, d2)
    loss, comp = Money(100, "JPY"), Money(100 if repaid else 0, "JPY")
    base = replace(facts, incidents=())
    with_newer = total(replace(base, incidents=(Incident("x", newer, kind, loss, comp),)))
    with_older = total(replace(base, incidents=(Incident("x", older, kind, loss, comp),)))
    assert with_older <= with_newer


@given(jp_facts(), st.randoms(use_true_random=False))
def test_independent_of_input_order(facts, rnd: random.Random):
    def shuffled(t):
        t = list(t)
        rnd.shuffle(t)
        return tuple(t)
    other = replace(facts, volumes=shuffled(facts.volumes), incidents=shuffled(facts.incidents),
                    custodians=shuffled(facts.custodians))
    assert compute_obligation(other, Q1, RS).as_dict() == compute_obligation(facts, Q1, RS).as_dict()


@settings(max_examples=30)
@given(jp_facts())
def test_new_ruleset_version_leaves_past_computation_unchanged(facts):
    before = compute_obligation(facts, Q1, RS).as_dict()
    doc = copy.deepcopy(shipped_document(JP))
    doc["version"] = "2"
    doc["params"]["volume_rates"]["value"]["spot"] = "0.0001"
    v2 = parse_ruleset(doc)
    compute_obligation(facts, Q1, v2)
    assert compute_obligation(facts, Q1, shipped(JP)).as_dict() == before
    assert before["ruleset"]["version"] == "1"


@given(st.integers(0, 10**15), st.integers(0, 10**15))
def test_hk_monotone_in_holdings(hot, cold):
    def facts(h, c):
        day = date(2026, 12, 1)
        return ExchangeFacts("hk", "H", "L", "HK", custody=(CustodyBalance(day, "hot", Money(h, "HKD")),
                                                             CustodyBalance(day, "cold", Money(c, "HKD"))))
    rs = shipped(HK)
    t = compute_obligation(facts(hot, cold), Q1, rs).total.amount
    assert compute_obligation(facts(hot + 1, cold), Q1, rs).total.amount >= t
    assert compute_obligation(facts(hot, cold + 1), Q1, rs).total.amount >= t

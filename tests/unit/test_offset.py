"""evaluate_offset: hand-computed example, every named check, caps, and properties."""

import random
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.domain.cover import Allocation, Insurer, Policy
from marketplace.domain.fx import FxRate
from marketplace.domain.money import Money
from marketplace.domain.obligation import Obligation
from marketplace.domain.offset import evaluate_offset
from marketplace.domain.period import Period
from marketplace.domain.whatif import what_if

from .helpers import JP, shipped

RS = shipped(JP)
Q1 = Period.parse("2027-Q1")
PERILS = frozenset({"theft_hack", "insider_fraud", "operational_failure"})
USD_JPY = FxRate("USD", "JPY", Decimal("150.25"), date(2026, 12, 30), "fixing")
I1 = Insurer("i1", "One", "A", frozenset({"JP"}))
I2 = Insurer("i2", "Two", "AA", frozenset({"JP", "EU"}))
I3 = Insurer("i3", "Three", "BBB", frozenset({"JP"}))


def obligation(total=1_000_000_000):
    return Obligation("ex", "JP", Q1, RS.ref, Money(total, "JPY"), ())


def policy(pid, insurer, limit, deductible=0, currency="JPY", **kw):
    d = {"id": pid, "number": f"POL-{pid}", "insurer": insurer, "insured_id": "ex", "limit": Money(limit, currency),
             "deductible": Money(deductible, currency), "perils": PERILS, "term_start": date(2026, 10, 1),
             "term_end": date(2027, 9, 30), "cancellation_notice_days": 90, "attested": True}
    d.update(kw)
    return Policy(**d)


def test_hand_computed_report():
    """Obligation JPY 1,000,000,000 (JP rule-set: per-insurer cap 50%, total 80%).
    a1: P1 (insurer One, A, JPY limit 600m, deductible 60m), allocated 300m:
        deductible share 60m x 300/600 = 30m; (300m - 30m) x (1 - 0.05) = 256,500,000
    a2: P2 (Two, AA, USD limit 2,000,000.00, no deductible), allocated USD 1,000,000.00 (100,000,000 cents):
        haircut 0 -> 100,000,000 cents; x 150.25 = JPY 150,250,000; x (1 - 0.08) = 138,230,000
    a3: P3 (Three, BBB < A-): fails insurer_rating -> 0
    a4: P4 (One, JPY limit 400m), allocated 400m: x 0.95 = 380,000,000
    One's total 636,500,000 > 500,000,000 cap -> largest remainder:
        a1 256.5m x 500/636.5 = 201,492,537.31 -> 201,492,537; a4 298,507,462.69 -> 298,507,463
    offset 500,000,000 + 138,230,000 = 638,230,000 (<= 800m); net reserve 361,770,000.
    """
    allocs = [
        Allocation("a1", policy("p1", I1, 600_000_000, 60_000_000), Money(300_000_000, "JPY")),
        Allocation("a2", policy("p2", I2, 200_000_000, currency="USD"), Money(100_000_000, "USD")),
        Allocation("a3", policy("p3", I3, 100_000_000), Money(100_000_000, "JPY")),
        Allocation("a4", policy("p4", I1, 400_000_000), Money(400_000_000, "JPY")),
    ]
    off = evaluate_offset(obligation(), allocs, [USD_JPY], RS)
    by = {a.allocation_id: a for a in off.allocations}
    assert by["a1"].before_caps.amount == 256_500_000
    assert by["a2"].before_caps.amount == 138_230_000
    assert by["a2"].fx == {"pair": "USD/JPY", "rate": "150.25", "as_of": "2026-12-30", "source": "fixing"}
    assert by["a3"].before_caps.amount == 0 and not by["a3"].ok
    assert [c.name for c in by["a3"].checks if not c.ok] == ["insurer_rating"]
    assert (by["a1"].eligible.amount, by["a4"].eligible.amount) == (201_492_537, 298_507_463)
    assert off.total == Money(638_230_000, "JPY")
    assert off.net_reserve == Money(361_770_000, "JPY")
    assert [c["cap"] for c in off.caps] == ["per_insurer"]
    steps = [s["step"] for s in by["a2"].steps]
    assert steps == ["deductible_share", "rating_haircut", "fx_conversion", "fx_mismatch_haircut"]


@pytest.mark.parametrize(("change", "failing"), [
    ({"insurer": Insurer("x", "X", "AA", frozenset({"EU"}))}, "insurer_approved"),
    ({"insurer": Insurer("x", "X", None, frozenset({"JP"}))}, "insurer_rating"),
    ({"status": "cancelled"}, "policy_active"),
    ({"term_start": date(2027, 1, 2)}, "policy_active"),
    ({"term_end": date(2027, 4, 30)}, "remaining_term"),
    ({"cancellation_notice_days": 30}, "cancellation_notice"),
    ({"perils": frozenset({"theft_hack"})}, "perils_covered"),
    ({"insured_id": "someone-else"}, "insured_named"),
    ({"attested": False}, "insurer_attestation"),
])
def test_each_check_fails_alone_with_a_reason(change, failing):
    p = replace(policy("p", I1, 100), **change)
    off = evaluate_offset(obligation(), [Allocation("a", p, Money(100, "JPY"))], [], RS)
    bad = [c for c in off.allocations[0].checks if not c.ok]
    assert [c.name for c in bad] == [failing]
    assert bad[0].detail
    assert off.total.amount == 0


def test_missing_fx_rate_fails_named_check():
    p = policy("p", I1, 100, currency="USD")
    off = evaluate_offset(obligation(), [Allocation("a", p, Money(100, "USD"))], [], RS)
    assert [c.name for c in off.allocations[0].checks if not c.ok] == ["fx_rate"]


def test_total_insurance_cap():
    """Two insurers each 400m eligible (AA, no haircut) of a 1bn obligation: 800m <= 80% cap: no cap.
    Add a third 400m: 1.2bn > 800m -> total cap, apportioned 266,666,667 / 266,666,667 / 266,666,666."""
    ins = [Insurer(f"i{k}", f"I{k}", "AA", frozenset({"JP"})) for k in range(3)]
    allocs = [Allocation(f"a{k}", policy(f"p{k}", ins[k], 400_000_000), Money(400_000_000, "JPY")) for k in range(3)]
    off = evaluate_offset(obligation(), allocs, [], RS)
    assert off.total.amount == 800_000_000
    assert sorted(a.eligible.amount for a in off.allocations) == [266_666_666, 266_666_667, 266_666_667]
    assert [c["cap"] for c in off.caps] == ["total_insurance"]


insurers = st.builds(Insurer, st.sampled_from(["i1", "i2", "i3"]), st.just("I"),
                     st.sampled_from(["AAA", "AA", "A", "A-", "BBB", None]),
                     st.sampled_from([frozenset({"JP"}), frozenset()]))


@st.composite
def allocations(draw):
    out = []
    for k in range(draw(st.integers(0, 6))):
        limit = draw(st.integers(1, 10**12))
        cur = draw(st.sampled_from(["JPY", "USD"]))
        p = policy(f"p{k}", draw(insurers), limit, draw(st.integers(0, limit)), currency=cur)
        out.append(Allocation(f"a{k}", p, Money(draw(st.integers(1, limit)), cur)))
    return out


@given(allocations(), st.integers(0, 10**12), st.randoms(use_true_random=False))
def test_offset_properties(allocs, ob_total, rnd: random.Random):
    ob = obligation(ob_total)
    off = evaluate_offset(ob, allocs, [USD_JPY], RS)
    assert 0 <= off.total.amount <= ob_total
    assert off.net_reserve.amount == ob_total - off.total.amount >= 0
    assert off.total.amount <= ob.total.scale(RS.value("max_insurance_share"), RS.rounding).amount
    per = {}
    for a in off.allocations:
        assert 0 <= a.eligible.amount <= a.before_caps.amount
        per[a.insurer_id] = per.get(a.insurer_id, 0) + a.eligible.amount
    cap = ob.total.scale(RS.value("max_insurer_share"), RS.rounding).amount
    assert all(v <= cap for v in per.values())
    shuffled = list(allocs)
    rnd.shuffle(shuffled)
    assert evaluate_offset(ob, shuffled, [USD_JPY], RS).as_dict() == off.as_dict()


def test_what_if():
    """Obligation 1bn, no cover: net 1bn. Target 700m -> 300m more eligible cover. At rating A
    (haircut 5%) in JPY: limit 300m / 0.95 = 315,789,473.68 -> rounded up 315,789,474.
    Lowest net reachable: 1bn - 80% = 200m; a target of 100m is not achievable."""
    off = evaluate_offset(obligation(), [], [], RS)
    w = what_if(off, Money(700_000_000, "JPY"), RS, rating="A")
    assert w.achievable and w.extra_eligible_needed.amount == 300_000_000
    assert w.limit_needed == Money(315_789_474, "JPY")
    w2 = what_if(off, Money(100_000_000, "JPY"), RS, rating="AA")
    assert not w2.achievable and w2.lowest_net_reserve.amount == 200_000_000
    assert w2.extra_eligible_needed.amount == 800_000_000
    w3 = what_if(off, Money(700_000_000, "JPY"), RS, rating="AA", currency="USD", fx=USD_JPY)
    # one USD cent gives 1.5025 JPY x (1 - 0.08) = 1.3823 JPY: 300,000,000 / 1.3823 = 217,029,588.37 -> up
    assert w3.limit_needed.currency == "USD"
    assert w3.limit_needed.amount == 217_029_589

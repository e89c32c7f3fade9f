"""One hand-computed example per shipped rule-set. The arithmetic is in each docstring."""

from datetime import date

from marketplace.domain.facts import Custodian, CustodyBalance, ExchangeFacts, Incident, Overheads
from marketplace.domain.money import Money
from marketplace.domain.obligation import compute_obligation
from marketplace.domain.period import Period

from .helpers import EU, HK, JP, jp_facts, shipped

Q1 = Period.parse("2027-Q1")


def amounts(ob) -> dict[str, int]:
    return {ln.component: ln.amount.amount for ln in ob.lines}


def test_jp_example_with_incident_custodian_and_floor():
    """JP-FSA-2026@1, period 2027-Q1 (window 2026-01..2026-12):
    spot 12 x 100bn = 1.2tn x 0.0025% = 30,000,000
    derivatives 12 x 50bn = 600bn x 0.005% = 30,000,000; margin: no volume -> 0
    hot custody 5bn (2026-12-31) x 1% = 50,000,000           -> base 110,000,000
    hack 2024-06-01, age 2 full years, decay 0.6, not fully repaid (x2): 0.20 x 0.6 x 2 = 0.24
        -> 110,000,000 x 0.24 = 26,400,000
    hack 2021-12-31: age 5 >= look-back 5 -> ignored; hack 2027-01-05: after period start -> ignored
    unregistered custodian: 25% of base = 27,500,000
    subtotal 163,900,000 < tier-1 floor 200,000,000 (volume 1.8tn < 10tn) -> floor line 36,100,000
    total 200,000,000
    """
    facts = jp_facts(
        incidents=(Incident("i1", date(2024, 6, 1), "hack", Money(900, "JPY"), Money(100, "JPY")),
                   Incident("i2", date(2021, 12, 31), "hack", Money(900, "JPY"), Money(0, "JPY")),
                   Incident("i3", date(2027, 1, 5), "hack", Money(900, "JPY"), Money(0, "JPY"))),
        custodians=(Custodian("c1", "Registered Co", True), Custodian("c2", "Shadow Keys", False)),
    )
    ob = compute_obligation(facts, Q1, shipped(JP))
    assert amounts(ob) == {
        "volume:derivatives": 30_000_000, "volume:margin": 0, "volume:spot": 30_000_000,
        "custody:hot": 50_000_000, "incident:2024-06-01:hack": 26_400_000,
        "unregistered_custodian": 27_500_000, "floor": 36_100_000,
    }
    assert ob.total == Money(200_000_000, "JPY")
    assert ob.ruleset["id"] == "JP-FSA-2026" and ob.ruleset["digest"].startswith("sha256:")
    floor = ob.lines[-1]
    assert floor.parameter["name"] == "tiers" and floor.parameter["provisional"] is True
    assert "floor" in floor.explanation


def test_jp_incident_loading_cap():
    """Base 110,000,000 (as above); five unrepaid hacks 2026-02..06 (age 0): 5 x 0.20 x 1 x 2 = 2.0
    -> 5 lines of 44,000,000 = 220,000,000, capped at 100% of base = 110,000,000 -> cap line -110,000,000.
    subtotal 220,000,000 (>= floor 200,000,000, <= cap 5bn) -> total 220,000,000."""
    incs = tuple(Incident(f"h{i}", date(2026, i + 2, 1), "hack", Money(10, "JPY"), Money(0, "JPY"))
                 for i in range(5))
    ob = compute_obligation(jp_facts(incidents=incs), Q1, shipped(JP))
    a = amounts(ob)
    assert a["incident_loading_cap"] == -110_000_000
    assert ob.total == Money(220_000_000, "JPY")


def test_eu_example_greater_of_capital_and_overheads():
    """EU-MiCA-67@1: classes 1 and 2 -> class 2 capital EUR 125,000.00 = 12,500,000 cents.
    Overheads of 2026 (year before 2027-Q1) EUR 600,000.02 = 60,000,002 cents x 0.25 = 15,000,000.5
    -> ROUND_HALF_UP -> 15,000,001 cents. Greater: overheads; capital line shown at 0. Total 15,000,001."""
    facts = ExchangeFacts("ex-eu", "Test EU", "L-2", "EU", service_classes=(1, 2),
                          overheads=(Overheads(2025, Money(1, "EUR")), Overheads(2026, Money(60_000_002, "EUR"))))
    ob = compute_obligation(facts, Q1, shipped(EU))
    assert amounts(ob) == {"permanent_minimum_capital": 0, "fixed_overheads": 15_000_001}
    assert ob.total == Money(15_000_001, "EUR")
    assert "not applied" in ob.lines[0].explanation


def test_hk_example_hot_and_half_of_cold():
    """HK-SFC-VATP@1: hot HKD 1,000,000.01 = 100,000,001 cents x 100% = 100,000,001;
    cold HKD 20,000,000.05 = 2,000,000,005 cents x 50% = 1,000,000,002.5 -> HALF_UP 1,000,000,003.
    The older balance (2026-06-30) is superseded by the 2026-12-31 one. Total 1,100,000,004 cents."""
    facts = ExchangeFacts("ex-hk", "Test HK", "L-3", "HK", custody=(
        CustodyBalance(date(2026, 6, 30), "cold", Money(1, "HKD")),
        CustodyBalance(date(2026, 12, 31), "hot", Money(100_000_001, "HKD")),
        CustodyBalance(date(2026, 12, 31), "cold", Money(2_000_000_005, "HKD")),
        CustodyBalance(date(2027, 1, 15), "hot", Money(999, "HKD")),
    ))
    ob = compute_obligation(facts, Q1, shipped(HK))
    assert amounts(ob) == {"custody:cold": 1_000_000_003, "custody:hot": 100_000_001}
    assert ob.total == Money(1_100_000_004, "HKD")


def test_missing_months_are_named():
    import pytest

    from marketplace.domain.errors import IncompleteFacts

    facts = jp_facts()
    facts = ExchangeFacts(**{**facts.__dict__, "volumes": tuple(v for v in facts.volumes if v.month.month != 7)})
    with pytest.raises(IncompleteFacts, match="2026-07"):
        compute_obligation(facts, Q1, shipped(JP))

"""Version 2 of the shipped rule-sets (issue 14, DESIGN 4.1): worked examples by hand, sources, digests of
version 1 (never to change), and properties."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.domain.errors import IncompleteFacts, RuleSetInvalid
from marketplace.domain.facts import (
    Custodian,
    CustodyBalance,
    ExchangeFacts,
    Incident,
    Overheads,
    Volume,
    fingerprint,
)
from marketplace.domain.money import Money
from marketplace.domain.obligation import compute_obligation
from marketplace.domain.period import Period
from marketplace.domain.rulesets import (
    PROPOSAL,
    diff_documents,
    parse_ruleset,
    select_ruleset,
    source_kind,
    sourced_count,
)

from .helpers import DATA, shipped, shipped_document

JP1, EU1, HK1 = "JP-FSA-2026@1", "EU-MiCA-67@1", "HK-SFC-VATP@1"
JP2, EU2, HK2 = "JP-FSA-2026@2", "EU-MiCA-67@2", "HK-SFC-VATP@2"
Q2 = Period.parse("2027-Q2")  # starts 2027-04-01: version 2 is in force
WINDOW = [date(2026 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(4, 16)]  # 2026-04 .. 2027-03

# SHA-256 of the version-1 files as shipped (the bytes), and their rule-set digests (RFC 8785, which every
# obligation and certificate cites): they never change; a new version is a new file
V1_FILE_SHA256 = {
    JP1: "8feb745c15f7501721209350f1f9cc085fc5534029604a37f59f4e7385a0e000",
    EU1: "7795f7fb2976512ebbba834f750284ae06d0d9882a58f5b4e8097c0961287a4e",
    HK1: "d79bed7c4be6df1fbac58c7884bf3fc8997a0cda31786819e1f1bce5865ba026",
}
V1_DIGEST = {
    JP1: "sha256:d559fbc33f5eecfe180689eb3a4814a1f969093f3d95b12655abbac3bc272f3f",
    EU1: "sha256:fec9fde584e3705dff37b2462a403f0a6f084816dd0cdb7b35a34121e9c41f21",
    HK1: "sha256:0c52f36a556e64263cff93cc75365b3f7107daf22c4f83beca98a285d3baf9d2",
}


def amounts(ob) -> dict[str, int]:
    return {ln.component: ln.amount.amount for ln in ob.lines}


# ---- version 1 stays byte-for-byte ----

@pytest.mark.parametrize("name", [JP1, EU1, HK1])
def test_version_1_files_are_byte_for_byte_as_shipped(name):
    assert hashlib.sha256((DATA / f"{name}.json").read_bytes()).hexdigest() == V1_FILE_SHA256[name]
    assert shipped(name).digest == V1_DIGEST[name]


def test_every_version_2_takes_effect_on_or_after_2027_04_01_so_2027_q1_keeps_version_1():
    everything = [shipped(n) for n in (JP1, EU1, HK1, JP2, EU2, HK2)]
    for j, v1 in (("JP", JP1), ("EU", EU1), ("HK", HK1)):
        v2 = shipped(v1.replace("@1", "@2"))
        assert v2.effective_from >= date(2027, 4, 1) and v2.version == "2"
        assert select_ruleset(everything, j, date(2027, 3, 31)).version == "1"
        assert select_ruleset(everything, j, date(2027, 4, 1)).version == "2"


# ---- sources ----

def test_every_version_2_source_names_a_url_and_section_or_says_service_proposal():
    for name in (JP2, EU2, HK2):
        for pname, entry in shipped_document(name)["params"].items():
            assert source_kind(entry["source"]) in ("sourced", "proposal"), (name, pname)


def test_source_kinds():
    assert source_kind("https://example.org/reg, Art. 5(1): the rate") == "sourced"
    assert source_kind("https://example.org/reg") == "unsourced"  # a URL alone names no section
    assert source_kind("Regulation (EU) 2023/1114 Art. 67(1)") == "unsourced"  # no URL
    assert source_kind(PROPOSAL) == "proposal"
    assert source_kind(PROPOSAL + ": because https://example.org/x says nothing") == "proposal"
    assert source_kind("Service proposal; MiCA sets none") == "unsourced"
    assert source_kind(None) == "unsourced"


def test_sourced_counts_per_rule_set():
    """Version 1 cites no URL at all; version 2 sources what a published text sets, and says "service
    proposal" for the rest (every JP value: no formula is published)."""
    counts = {n: sourced_count(shipped_document(n)) for n in (JP1, EU1, HK1, JP2, EU2, HK2)}
    assert counts == {JP1: {"count": 0, "of": 20}, EU1: {"count": 0, "of": 10}, HK1: {"count": 0, "of": 7},
                      JP2: {"count": 0, "of": 21}, EU2: {"count": 13, "of": 15}, HK2: {"count": 6, "of": 8}}
    assert shipped(EU2).sourced == counts[EU2]


def test_jp_version_2_says_what_the_figures_rest_on():
    doc = shipped_document(JP2)
    p = doc["params"]
    assert p["custody_rates"]["value"] == {"cold": "0.01"}  # cold wallets, not hot
    assert "actually hold" in p["tiers"]["source"] and "not a floor or cap" in p["tiers"]["source"]
    assert "事前届出" in p["unnotified_custodian_loading"]["source"] and "unregistered_custodian_loading" not in p
    assert "Coincheck" in p["incident_weights"]["source"] and "DMM" in p["incident_weights"]["source"]
    assert doc["effective_from"] == "2027-04-01" and doc["effective_from_source"].startswith("Provisional")
    assert all(e["provisional"] for e in p.values())


def test_eu_version_2_perils_are_the_seven_art_67_6_risks_and_the_citation_is_fixed():
    p = shipped_document(EU2)["params"]
    seven = ["loss_of_documents", "misrepresentation", "breach_of_duty", "conflicts_of_interest",
             "business_disruption", "gross_negligence_safeguarding", "custodian_liability"]
    assert p["perils.vocabulary"]["value"] == seven and sorted(p["perils.required"]["value"]) == sorted(seven)
    assert "professional_liability" not in str(p) and "(c)" not in p["max_insurance_share"]["source"]
    assert "required_perils" not in p
    rs = shipped(EU2)
    assert rs.value("overheads_net_of_deductions") is True and rs.value("projected_overheads_first_year") is True
    # Art. 67(5) third party and Art. 67(4)(b) territories: the eligibility check applies them (domain.offset)
    assert rs.value("eligibility.third_party_required") is True and rs.value("eligibility.territories_required")


def test_hk_version_2_charges_hot_and_other_in_full_and_half_of_cold():
    rs = shipped(HK2)
    assert {k: str(v) for k, v in rs.value("custody_rates").items()} == {"hot": "1", "other": "1", "cold": "0.5"}
    assert rs.value("perils.vocabulary") == ["custody_risk"] and rs.value("perils.required") == ["custody_risk"]


def test_peril_parameters_are_checked_together():
    doc = shipped_document(HK2)
    doc["params"]["perils.required"] = {**doc["params"]["perils.required"], "value": ["custody_risk", "theft_hack"]}
    with pytest.raises(RuleSetInvalid) as e:
        parse_ruleset(doc)
    assert ("/params/perils.required/value", "not in this jurisdiction's vocabulary: theft_hack") in e.value.errors
    doc = shipped_document(HK2)
    del doc["params"]["perils.vocabulary"]
    with pytest.raises(RuleSetInvalid) as e:
        parse_ruleset(doc)
    assert e.value.errors[0][0] == "/params/perils.vocabulary"
    doc = shipped_document(HK2)
    doc["effective_from_source"] = ""
    with pytest.raises(RuleSetInvalid):
        parse_ruleset(doc)


# ---- worked examples ----

def _jp(hot: int, cold: int, **kw) -> ExchangeFacts:
    volumes = tuple(Volume(m, "spot", Money(1_000_000_000_000, "JPY")) for m in WINDOW)
    custody = (CustodyBalance(date(2027, 3, 31), "hot", Money(hot, "JPY")),
               CustodyBalance(date(2027, 3, 31), "cold", Money(cold, "JPY")))
    return ExchangeFacts("ex-jp", "JP", "L-1", "JP", volumes=volumes, custody=custody, **kw)


JP_INCIDENT = Incident("i1", date(2025, 6, 1), "hack", Money(1_000_000, "JPY"), Money(1_000_000, "JPY"))
JP_CUSTODIAN = Custodian("c1", "Offshore Key", False)


def test_jp_v2_charges_cold_wallets():
    """Period 2027-Q2, window 2026-04..2027-03: spot ¥1tn a month = ¥12,000,000,000,000.
    volume: 12,000,000,000,000 x 0.0025% = 300,000,000 (derivatives, margin: 0).
    custody: cold ¥500,000,000,000 x 1% = 5,000,000,000; the hot ¥20,000,000,000 is not charged.
    base = 5,300,000,000. Hack on 2025-06-01, age 1 full year, repaid: 0.20 x 0.8 = 0.16 of base = 848,000,000.
    Provider without prior notification: +25% of base = 1,325,000,000.
    Subtotal 5,300,000,000 + 848,000,000 + 1,325,000,000 = 7,473,000,000; volume >= ¥10tn: tier 2
    (floor ¥2bn, cap ¥40bn): within. Total 7,473,000,000."""
    ob = compute_obligation(_jp(20_000_000_000, 500_000_000_000, incidents=(JP_INCIDENT,),
                                custodians=(JP_CUSTODIAN,)), Q2, shipped(JP2))
    assert amounts(ob) == {"volume:derivatives": 0, "volume:margin": 0, "volume:spot": 300_000_000,
                           "custody:cold": 5_000_000_000, "incident:2025-06-01:hack": 848_000_000,
                           "unnotified_custodian": 1_325_000_000}
    assert ob.total == Money(7_473_000_000, "JPY")
    assert ob.ruleset["version"] == "2"
    line = {ln.component: ln for ln in ob.lines}
    assert "cold-wallet customer assets JPY 500,000,000,000 on 2027-03-31 x 1%" in line["custody:cold"].explanation
    assert "事前届出" in line["unnotified_custodian"].explanation


def test_jp_v1_on_the_same_facts_charged_hot_wallets():
    """Same facts under version 1 (hot wallets x 1%): 300,000,000 + 200,000,000 = base 500,000,000;
    hack 0.16 x base = 80,000,000; unregistered custodian 25% = 125,000,000; subtotal 705,000,000 is below
    the tier 2 floor 2,000,000,000: floor line +1,295,000,000. Total 2,000,000,000."""
    ob = compute_obligation(_jp(20_000_000_000, 500_000_000_000, incidents=(JP_INCIDENT,),
                                custodians=(JP_CUSTODIAN,)), Q2, shipped(JP1))
    assert amounts(ob)["custody:hot"] == 200_000_000 and "custody:cold" not in amounts(ob)
    assert amounts(ob)["floor"] == 1_295_000_000 and ob.total == Money(2_000_000_000, "JPY")


def test_jp_v2_needs_a_cold_wallet_balance_not_a_hot_one():
    facts = _jp(0, 0)
    facts = replace(facts, custody=(CustodyBalance(date(2027, 3, 31), "hot", Money(5, "JPY")),))
    with pytest.raises(IncompleteFacts, match="no cold-wallet custody balance on or before 2027-04-01"):
        compute_obligation(facts, Q2, shipped(JP2))


def _eu(overheads: tuple[Overheads, ...]) -> ExchangeFacts:
    return ExchangeFacts("ex-eu", "EU", "L-2", "EU", service_classes=(2, 3), overheads=overheads)


def test_eu_v2_first_year_firm_uses_projected_overheads_net_of_deductions():
    """A firm that began in 2027 reports no 2026 overheads, and projected overheads for its first 12 months
    under 2027: EUR 1,200,000.00 with Art. 67(3) deductions EUR 200,000.00.
    overheads: 0.25 x (120,000,000 - 20,000,000 = 100,000,000 cents) = 25,000,000 cents (EUR 250,000.00);
    capital: class 3 (highest of 2, 3) = 15,000,000 cents. The higher applies: total 25,000,000; the capital
    line shows 0."""
    facts = _eu((Overheads(2027, Money(120_000_000, "EUR"), projected=True, deductions=20_000_000),))
    ob = compute_obligation(facts, Q2, shipped(EU2))
    assert amounts(ob) == {"permanent_minimum_capital": 0, "fixed_overheads": 25_000_000}
    assert ob.total == Money(25_000_000, "EUR")
    line = {ln.component: ln for ln in ob.lines}["fixed_overheads"]
    assert "projected fixed overheads of the first 12 months" in line.explanation
    assert "(EUR 1,200,000.00 - EUR 200,000.00 = EUR 1,000,000.00)" in line.explanation
    assert line.inputs["projected"] == "true" and line.inputs["deductions"] == "20000000"
    # version 1 has no such rule: the same firm gets no obligation (the error issue 14 names)
    with pytest.raises(IncompleteFacts, match="no fixed overheads reported for 2026"):
        compute_obligation(facts, Q2, shipped(EU1))


def test_eu_v2_established_firm_deducts_and_rounds_half_up():
    """2026 overheads EUR 1,000,000.00 (100,000,000 cents), deductions 29,999,998 cents: net 70,000,002;
    x 0.25 = 17,500,000.5 -> ROUND_HALF_UP 17,500,001 > capital 15,000,000. Total 17,500,001.
    Version 1 (gross): 0.25 x 100,000,000 = 25,000,000."""
    facts = _eu((Overheads(2026, Money(100_000_000, "EUR"), deductions=29_999_998),))
    assert compute_obligation(facts, Q2, shipped(EU2)).total == Money(17_500_001, "EUR")
    assert compute_obligation(facts, Q2, shipped(EU1)).total == Money(25_000_000, "EUR")


def test_eu_v2_refuses_what_it_cannot_compute_in_words():
    with pytest.raises(IncompleteFacts, match="nor projected overheads for a first year of business in 2027"):
        compute_obligation(_eu(()), Q2, shipped(EU2))
    with pytest.raises(IncompleteFacts, match="deductions reported for 2026 exceed"):
        compute_obligation(_eu((Overheads(2026, Money(10, "EUR"), deductions=11),)), Q2, shipped(EU2))
    # an actual 2027 row is no first-year projection
    with pytest.raises(IncompleteFacts):
        compute_obligation(_eu((Overheads(2027, Money(10, "EUR")),)), Q2, shipped(EU2))


def _hk(*balances: tuple[str, int]) -> ExchangeFacts:
    return ExchangeFacts("ex-hk", "HK", "L-3", "HK", custody=tuple(
        CustodyBalance(date(2027, 3, 31), w, Money(a, "HKD")) for w, a in balances))


def test_hk_v2_charges_hot_and_other_storage_in_full_and_half_of_cold():
    """On 2027-03-31: hot HK$1,000,000.00, other HK$250,000.50, cold HK$50,000,000.01 (cents).
    cold: 5,000,000,001 x 0.5 = 2,500,000,000.5 -> ROUND_HALF_UP 2,500,000,001; hot: 100,000,000 x 1;
    other: 25,000,050 x 1. Total 2,500,000,001 + 100,000,000 + 25,000,050 = 2,625,000,051.
    Version 1 ignores other storage: 2,500,000,001 + 100,000,000 = 2,600,000,001."""
    facts = _hk(("hot", 100_000_000), ("other", 25_000_050), ("cold", 5_000_000_001))
    ob = compute_obligation(facts, Q2, shipped(HK2))
    assert amounts(ob) == {"custody:cold": 2_500_000_001, "custody:hot": 100_000_000, "custody:other": 25_000_050}
    assert ob.total == Money(2_625_000_051, "HKD")
    assert compute_obligation(facts, Q2, shipped(HK1)).total == Money(2_600_000_001, "HKD")


def test_hk_v2_an_exchange_without_other_storage_holds_none():
    """No other storage reported: a zero line that says so; hot 100,000,000 + cold 0.5 x 4 = 2: 100,000,002."""
    ob = compute_obligation(_hk(("hot", 100_000_000), ("cold", 4)), Q2, shipped(HK2))
    assert amounts(ob) == {"custody:cold": 2, "custody:hot": 100_000_000, "custody:other": 0}
    assert "none reported on or before 2027-04-01" in {ln.component: ln for ln in ob.lines}["custody:other"].explanation
    with pytest.raises(IncompleteFacts, match="no hot-wallet custody balance"):
        compute_obligation(_hk(("cold", 4)), Q2, shipped(HK2))


def test_facts_without_projected_overheads_or_deductions_keep_their_fingerprint():
    """Stored obligations cite the fingerprint of their facts: reporting nothing new must not change it."""
    plain = _eu((Overheads(2026, Money(100, "EUR")),))
    assert fingerprint(plain) == fingerprint(_eu((Overheads(2026, Money(100, "EUR"), False, 0),)))
    assert fingerprint(plain) != fingerprint(_eu((Overheads(2026, Money(100, "EUR"), False, 1),)))
    assert fingerprint(plain) != fingerprint(_eu((Overheads(2026, Money(100, "EUR"), True, 0),)))


def test_the_diff_of_version_1_and_2_names_the_corrections():
    d = diff_documents(shipped_document(JP1), shipped_document(JP2))
    assert [c.name for c in d.added] == ["perils.required", "perils.vocabulary", "unnotified_custodian_loading"]
    assert [c.name for c in d.removed] == ["required_perils", "unregistered_custodian_loading"]
    custody = next(c for c in d.changed if c.name == "custody_rates")
    assert custody.keys == (("cold", None, "0.01"), ("hot", "0.01", None))
    assert ("effective_from", "2026-04-01", "2027-04-01") in d.header


# ---- properties ----

money = st.integers(0, 10**15)


@settings(max_examples=60, deadline=None)
@given(spot=st.lists(money, min_size=12, max_size=12), extra=st.integers(1, 10**14), month=st.integers(0, 11),
       cold=money, hot=money, unnotified=st.booleans())
def test_jp_v2_is_never_negative_and_monotone_in_volume(spot, extra, month, cold, hot, unnotified):
    rs = shipped(JP2)

    def facts(vols):
        return ExchangeFacts("ex", "JP", "L", "JP",
                             volumes=tuple(Volume(m, "spot", Money(v, "JPY")) for m, v in zip(WINDOW, vols,
                                                                                               strict=True)),
                             custody=(CustodyBalance(date(2027, 3, 1), "cold", Money(cold, "JPY")),
                                      CustodyBalance(date(2027, 3, 1), "hot", Money(hot, "JPY"))),
                             incidents=(JP_INCIDENT,), custodians=(Custodian("c", "C", not unnotified),))
    base = compute_obligation(facts(spot), Q2, rs)
    more = list(spot)
    more[month] += extra
    higher = compute_obligation(facts(more), Q2, rs)
    assert base.total.amount >= 0 and higher.total >= base.total
    assert sum(ln.amount.amount for ln in base.lines) == base.total.amount


@settings(max_examples=60, deadline=None)
@given(amount=money, share=st.integers(0, 100), extra=st.integers(0, 10**12), projected=st.booleans())
def test_eu_v2_is_never_negative_monotone_in_overheads_and_never_raised_by_deductions(amount, share, extra,
                                                                                      projected):
    rs = shipped(EU2)
    year = 2027 if projected else 2026
    ded = amount * share // 100

    def total(a, d):
        return compute_obligation(_eu((Overheads(year, Money(a, "EUR"), projected, d),)), Q2, rs).total.amount

    t = total(amount, ded)
    assert t >= 15_000_000  # never below the permanent minimum capital of class 3
    assert total(amount + extra, ded) >= t
    assert total(amount, min(amount, ded + extra)) <= t


@settings(max_examples=60, deadline=None)
@given(hot=money, other=money, cold=money, extra=st.integers(1, 10**12), which=st.sampled_from(["hot", "other",
                                                                                                 "cold"]))
def test_hk_v2_is_never_negative_and_monotone_in_every_storage_balance(hot, other, cold, extra, which):
    rs = shipped(HK2)
    b = {"hot": hot, "other": other, "cold": cold}
    t = compute_obligation(_hk(*b.items()), Q2, rs).total.amount
    b[which] += extra
    assert 0 <= t <= compute_obligation(_hk(*b.items()), Q2, rs).total.amount

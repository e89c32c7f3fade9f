"""Offset eligibility under version-2 rule-sets (issue 14): perils as a per-jurisdiction vocabulary with the
missing ones named in words, MiCA's third-party check (Art. 67(5)) and territorial check (Art. 67(4)).
Version-1 rule-sets keep their behaviour exactly (tests/unit/test_offset.py runs unchanged).

The rule-sets here are built in the test from the shipped version-1 documents plus the version-2 parameters
(`perils.vocabulary`, `perils.required`, `eligibility.third_party_required`, `eligibility.territories_required`),
so they do not depend on the shipped @2 files; `test_shipped_v2_*` check those files when they are there.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.domain.cover import PERIL_NAMES, PERILS, V1_PERILS, VOCABULARIES, Allocation, Insurer, Policy
from marketplace.domain.errors import DomainError
from marketplace.domain.money import Money
from marketplace.domain.obligation import Obligation
from marketplace.domain.offset import evaluate_offset
from marketplace.domain.period import Period
from marketplace.domain.rulesets import Param, RuleSet
from marketplace.domain.territories import EU_MEMBER_STATES, ISO_3166_ALPHA2, covers, parse_territories

from .helpers import DATA, EU, HK, JP, shipped, shipped_document

SRC = "service proposal (no published value): built by the test"
EU7 = frozenset(VOCABULARIES["EU"])
Q1 = Period.parse("2027-Q1")


def v2(name: str, jurisdiction: str, *, third_party: bool = False, territories: bool = False,
       **shares: str) -> RuleSet:
    """The shipped version-1 rule-set `name` as a version 2: its jurisdiction's vocabulary, all of it required,
    and the eligibility conditions asked for. `shares` overrides max_insurer_share / max_insurance_share."""
    base = shipped(name)
    params = {k: v for k, v in base.params.items() if k != "required_perils"}
    vocab = list(VOCABULARIES[jurisdiction])
    params["perils.vocabulary"] = Param(vocab, SRC, False)
    params["perils.required"] = Param(sorted(vocab), SRC, False)
    if third_party:
        params["eligibility.third_party_required"] = Param(True, SRC, False)
    if territories:
        params["eligibility.territories_required"] = Param(True, SRC, False)
    for k, v in shares.items():
        params[k] = Param(Decimal(v), SRC, False)
    return replace(base, version="2", params=params)


EU2 = v2(EU, "EU", third_party=True, territories=True)
JP2 = v2(JP, "JP")

ALLIANZ = Insurer("i-az", "Allianz Crypto Cover", None, frozenset({"EU"}), group="Allianz Group")
HOUSE = Insurer("i-rh", "Rhein Assekuranz", None, frozenset({"EU"}), group="Rhein Holding AG")


def eu_obligation(total: int = 15_000_000) -> Obligation:
    return Obligation("ex-rhein", "EU", Q1, EU2.ref, Money(total, "EUR"), ())


def eu_policy(pid: str = "p", insurer: Insurer = ALLIANZ, limit: int = 20_000_000, deductible: int = 2_000_000,
              **kw) -> Policy:
    d = {"id": pid, "number": f"POL-{pid}", "insurer": insurer, "insured_id": "ex-rhein",
         "limit": Money(limit, "EUR"), "deductible": Money(deductible, "EUR"), "perils": EU7,
         "term_start": date(2026, 7, 1), "term_end": date(2027, 6, 30), "cancellation_notice_days": 90,
         "attested": True, "territories": frozenset({"EU"}), "insured_group": "Rhein Holding AG"}
    d.update(kw)
    return Policy(**d)


def failing(off, allocation: str = "a") -> dict[str, str]:
    r = next(a for a in off.allocations if a.allocation_id == allocation)
    return {c.name: c.detail for c in r.checks if not c.ok}


# ---- worked by hand --------------------------------------------------------------------------------------

def test_eu_policy_covering_all_seven_risks_counts():
    """EU obligation EUR 150,000.00 (15,000,000 cents; Annex IV class 3). Policy by Allianz (group "Allianz
    Group", not the exchange's "Rhein Holding AG"), limit EUR 200,000.00, deductible EUR 20,000.00, the seven
    Art. 67(6) risks, territories EU; allocated EUR 100,000.00 (10,000,000 cents):
        deductible share 2,000,000 x 10,000,000 / 20,000,000 = 1,000,000
        no minimum rating, no haircut: (10,000,000 - 1,000,000) x (1 - 0) = 9,000,000
        caps 100% / 100%: none apply. Offset 9,000,000; net reserve 15,000,000 - 9,000,000 = 6,000,000."""
    off = evaluate_offset(eu_obligation(), [Allocation("a", eu_policy(), Money(10_000_000, "EUR"))], [], EU2)
    assert failing(off) == {}
    checks = {c.name: c.detail for c in off.allocations[0].checks}
    assert checks["perils_covered"] == "covers every required peril (7)"
    assert checks["third_party"] == "Allianz Crypto Cover is not in the exchange's group (Rhein Holding AG)"
    assert checks["territories"] == "territories EU include EU"
    assert off.allocations[0].before_caps == Money(9_000_000, "EUR")
    assert (off.total, off.net_reserve) == (Money(9_000_000, "EUR"), Money(6_000_000, "EUR"))


def test_eu_policy_missing_two_of_the_seven_risks_is_not_eligible_and_both_are_named():
    """The same policy without "failure to manage conflicts of interest" and "custodian liability": it fails
    perils_covered alone; its eligible amount is 0, so the offset is 0 and the net reserve the whole
    EUR 150,000.00 (15,000,000 cents). The reason names both risks in words (sorted by code:
    conflicts_of_interest < custodian_liability)."""
    p = eu_policy(perils=EU7 - {"conflicts_of_interest", "custodian_liability"})
    off = evaluate_offset(eu_obligation(), [Allocation("a", p, Money(10_000_000, "EUR"))], [], EU2)
    assert failing(off) == {"perils_covered": "does not cover: failure to manage conflicts of interest, "
                                              "custodian liability to clients (MiCA Art. 75(8))"}
    assert off.allocations[0].eligible == Money(0, "EUR")
    assert (off.total.amount, off.net_reserve.amount) == (0, 15_000_000)


def test_jp_v2_names_the_missing_perils_in_words():
    """JP v2 vocabulary: theft/hack, insider fraud, operational failure, all required. A policy covering only
    theft/hack misses the other two: "does not cover: insider fraud, operational failure"."""
    ins = Insurer("i1", "Tokio", "AA", frozenset({"JP"}))
    p = Policy("p", "P", ins, "ex", Money(100, "JPY"), Money(0, "JPY"), frozenset({"theft_hack"}),
               date(2026, 10, 1), date(2027, 9, 30), 90, attested=True)
    ob = Obligation("ex", "JP", Q1, JP2.ref, Money(1_000, "JPY"), ())
    off = evaluate_offset(ob, [Allocation("a", p, Money(100, "JPY"))], [], JP2)
    assert failing(off) == {"perils_covered": "does not cover: insider fraud, operational failure"}
    # the JP rule-set asks for neither the third-party nor the territorial check: they are not run
    assert {c.name for c in off.allocations[0].checks}.isdisjoint({"third_party", "territories"})


def test_an_insurer_in_the_exchanges_group_is_no_third_party():
    """Rhein Assekuranz belongs to "Rhein Holding AG", the exchange's group (compared without case and extra
    spaces): ineligible under MiCA Art. 67(5); its EUR 90,000.00 would-be offset (as in the first example)
    counts 0, net reserve EUR 150,000.00."""
    p = eu_policy(insurer=replace(HOUSE, group="  rhein   HOLDING ag "))
    off = evaluate_offset(eu_obligation(), [Allocation("a", p, Money(10_000_000, "EUR"))], [], EU2)
    assert failing(off) == {"third_party": "Rhein Assekuranz belongs to the exchange's own group "
                                           "(Rhein Holding AG); the insurer must be a third party"}
    assert (off.total.amount, off.net_reserve.amount) == (0, 15_000_000)


@pytest.mark.parametrize(("insurer_group", "exchange_group", "ok"), [
    (None, "Rhein Holding AG", True),   # the insurer records no group
    ("", "", True),                     # empty groups never match
    ("Rhein Holding AG", None, True),   # the exchange records no group: a third party as far as is known
    ("Allianz Group", "Rhein Holding AG", True),
    ("RHEIN HOLDING AG", "Rhein Holding AG", False),
])
def test_third_party_compares_non_empty_groups_without_case(insurer_group, exchange_group, ok):
    p = eu_policy(insurer=replace(HOUSE, group=insurer_group), insured_group=exchange_group)
    off = evaluate_offset(eu_obligation(), [Allocation("a", p, Money(10_000_000, "EUR"))], [], EU2)
    assert ("third_party" not in failing(off)) is ok


@pytest.mark.parametrize(("territories", "reason"), [
    (None, "the territories this policy covers are not recorded"),
    (frozenset(), "the territories this policy covers are not recorded"),
    (frozenset({"FR", "DE"}), "territories DE, FR do not cover the Union (EU) where the services are provided: "
                              "record EU or every member state"),
    (frozenset({"JP"}), "territories JP do not cover the Union (EU) where the services are provided: "
                        "record EU or every member state"),
    (frozenset({"EU"}), None),
    (frozenset({"EU", "JP"}), None),
    (EU_MEMBER_STATES, None),  # all 27 member states are the Union
])
def test_territories_must_cover_the_union(territories, reason):
    p = eu_policy(territories=territories)
    off = evaluate_offset(eu_obligation(), [Allocation("a", p, Money(10_000_000, "EUR"))], [], EU2)
    assert failing(off).get("territories") == reason
    assert off.total.amount == (0 if reason else 9_000_000)


def test_territories_of_a_country_jurisdiction():
    """A JP rule-set that asks for the territorial check: JP must be listed (EU does not cover Japan)."""
    rs = v2(JP, "JP", territories=True)
    ins = Insurer("i1", "Tokio", "AA", frozenset({"JP"}))
    ob = Obligation("ex", "JP", Q1, rs.ref, Money(1_000, "JPY"), ())

    def run(terr):
        p = Policy("p", "P", ins, "ex", Money(100, "JPY"), Money(0, "JPY"), frozenset(VOCABULARIES["JP"]),
                   date(2026, 10, 1), date(2027, 9, 30), 90, attested=True, territories=terr)
        return failing(evaluate_offset(ob, [Allocation("a", p, Money(100, "JPY"))], [], rs)).get("territories")

    assert run(frozenset({"JP", "HK"})) is None
    assert run(frozenset({"EU"})) == "territories EU do not include JP"


def test_every_failing_v2_check_is_named_at_once():
    """A group insurer's policy, missing one risk, with no territories: three named failures together."""
    p = eu_policy(insurer=HOUSE, perils=EU7 - {"misrepresentation"}, territories=None)
    off = evaluate_offset(eu_obligation(), [Allocation("a", p, Money(10_000_000, "EUR"))], [], EU2)
    bad = failing(off)
    assert list(bad) == ["third_party", "perils_covered", "territories"]
    assert bad["perils_covered"] == "does not cover: misrepresentations or misleading statements"


def test_version_1_is_unchanged():
    """Under EU-MiCA-67@1 the same group insurer's policy with no territories is judged as before: no
    third-party or territorial check, the v1 peril list in codes (its wording kept)."""
    rs = shipped(EU)
    p = eu_policy(insurer=HOUSE, territories=None, perils=frozenset({"business_disruption"}))
    ob = Obligation("ex-rhein", "EU", Q1, rs.ref, Money(15_000_000, "EUR"), ())
    off = evaluate_offset(ob, [Allocation("a", p, Money(10_000_000, "EUR"))], [], rs)
    names = [c.name for c in off.allocations[0].checks]
    assert names == ["insurer_approved", "insurer_rating", "policy_active", "initial_term", "cancellation_notice",
                     "perils_covered", "insured_named", "insurer_attestation", "allocation_within_limit"]
    assert failing(off) == {"perils_covered": "does not cover loss_of_documents, professional_liability"}


# ---- vocabulary and territories --------------------------------------------------------------------------

def test_perils_are_the_union_of_the_vocabularies_and_keep_the_v1_codes():
    assert PERILS[:len(V1_PERILS)] == V1_PERILS  # old codes, old order: v1 rule-sets and old policies
    assert set(PERILS) == set(V1_PERILS) | {p for v in VOCABULARIES.values() for p in v}
    assert len(VOCABULARIES["EU"]) == 7 and len(PERILS) == len(set(PERILS)) == 13
    assert set(PERIL_NAMES) == set(PERILS)
    for name in (JP, EU, HK):  # every v1 rule-set's required perils stay valid codes
        assert set(shipped(name).value("required_perils", [])) <= set(PERILS)


def test_labels_name_every_peril():
    from marketplace.web.labels import PERILS as LABELS

    assert set(LABELS) == set(PERILS)


def test_parse_territories():
    assert parse_territories([" fr", "EU", "FR", "de "]) == ["DE", "EU", "FR"]
    with pytest.raises(DomainError, match="xx, E"):
        parse_territories(["JP", "xx", "E"])
    assert len(ISO_3166_ALPHA2) == 249 and EU_MEMBER_STATES <= ISO_3166_ALPHA2 and len(EU_MEMBER_STATES) == 27
    assert covers({"EU"}, "FR") and covers({"FR"}, "FR") and not covers({"FR"}, "EU") and not covers(None, "JP")


@pytest.mark.parametrize(("name", "jurisdiction"), [("EU-MiCA-67@2", "EU"), ("JP-FSA-2026@2", "JP"),
                                                   ("HK-SFC-VATP@2", "HK")])
def test_shipped_v2_vocabulary_matches_the_agreed_one(name, jurisdiction):
    if not (DATA / f"{name}.json").exists():
        pytest.skip(f"{name} is not shipped yet")
    from marketplace.domain.rulesets import parse_ruleset

    rs = parse_ruleset(shipped_document(name))
    assert list(rs.value("perils.vocabulary")) == list(VOCABULARIES[jurisdiction])
    assert set(rs.value("perils.required")) <= set(VOCABULARIES[jurisdiction])
    if jurisdiction == "EU":
        assert set(rs.value("perils.required")) == EU7
        ob = Obligation("ex-rhein", "EU", Q1, rs.ref, Money(15_000_000, "EUR"), ())
        p = eu_policy(perils=EU7 - {"conflicts_of_interest", "custodian_liability"})
        off = evaluate_offset(ob, [Allocation("a", p, Money(10_000_000, "EUR"))], [], rs)
        assert "failure to manage conflicts of interest" in failing(off)["perils_covered"]
        for flag in ("eligibility.third_party_required", "eligibility.territories_required"):
            assert rs.value(flag, True) is True  # MiCA Art. 67(5) and 67(4): on wherever the file declares them


# ---- properties ------------------------------------------------------------------------------------------

GROUPS = st.sampled_from([None, "", "Allianz Group", "Rhein Holding AG", "rhein holding ag"])
TERRITORIES = st.sampled_from([None, frozenset(), frozenset({"EU"}), frozenset({"FR"}), EU_MEMBER_STATES,
                               frozenset({"JP"})])
RULESETS = st.sampled_from([EU2, v2(EU, "EU", third_party=True, territories=True, max_insurer_share="0.4",
                                    max_insurance_share="0.7")])


@st.composite
def eu_allocation(draw, k: int, eligible: bool = False) -> Allocation:
    limit = draw(st.integers(1, 10**10))
    insurer = Insurer(draw(st.sampled_from(["i1", "i2", "i3"])), "I", draw(st.sampled_from([None, "AA", "BBB"])),
                      frozenset({"EU"}) if eligible else draw(st.sampled_from([frozenset({"EU"}), frozenset()])),
                      group="Allianz Group" if eligible else draw(GROUPS))
    p = eu_policy(
        f"p{k}", insurer, limit, draw(st.integers(0, limit - 1)),
        perils=EU7 if eligible else draw(st.frozensets(st.sampled_from(PERILS))),
        territories=frozenset({"EU"}) if eligible else draw(TERRITORIES))
    return Allocation(f"a{k}", p, Money(draw(st.integers(1, limit)), "EUR"))


@st.composite
def eu_allocations(draw) -> list[Allocation]:
    return [draw(eu_allocation(k)) for k in range(draw(st.integers(0, 6)))]


@given(eu_allocations(), st.integers(0, 10**10), RULESETS)
def test_offset_never_exceeds_the_obligation(allocs, total, rs):
    off = evaluate_offset(eu_obligation(total), allocs, [], rs)
    assert 0 <= off.total.amount <= total
    assert off.net_reserve.amount == total - off.total.amount >= 0
    for a in off.allocations:
        assert 0 <= a.eligible.amount <= (a.before_caps.amount if a.ok else 0)


@given(eu_allocations(), eu_allocation(99, eligible=True), st.integers(0, 10**10), RULESETS)
def test_adding_an_eligible_cover_never_raises_the_net_reserve(allocs, extra, total, rs):
    before = evaluate_offset(eu_obligation(total), allocs, [], rs)
    after = evaluate_offset(eu_obligation(total), [*allocs, extra], [], rs)
    assert next(a for a in after.allocations if a.allocation_id == "a99").ok  # it is eligible
    assert after.net_reserve.amount <= before.net_reserve.amount

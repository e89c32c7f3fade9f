"""Which rating changes reduce an offset (domain.rating_effects), worked by hand, and properties.

JP-FSA-2026@1's rating rules: minimum A-; haircuts AAA/AA+/AA 0, AA- 0.02, A+/A 0.05, A- 0.10.
EU-MiCA-67@1 and HK-SFC-VATP@1: no minimum, no haircut table.
"""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from marketplace.domain.rating_effects import counted_share, downgrade_words, reduces_offset
from marketplace.domain.ratings import SCALE

JP_MIN = "A-"
JP_HAIRCUTS = {"AAA": Decimal("0"), "AA+": Decimal("0"), "AA": Decimal("0"), "AA-": Decimal("0.02"),
               "A+": Decimal("0.05"), "A": Decimal("0.05"), "A-": Decimal("0.10")}


def test_counted_share_under_jp_rules_by_hand():
    """A: 1 - 0.05 = 0.95; A-: 1 - 0.10 = 0.90; AA: 1 - 0 = 1; BBB+ is below the minimum A-: 0;
    no rating is below any minimum: 0.
    A JPY 1,000,000,000 cover with no deductible counts 950,000,000 at A and 900,000,000 at A-."""
    assert counted_share("A", JP_MIN, JP_HAIRCUTS) == Decimal("0.95")
    assert counted_share("A-", JP_MIN, JP_HAIRCUTS) == Decimal("0.90")
    assert counted_share("AA", JP_MIN, JP_HAIRCUTS) == Decimal("1")
    assert counted_share("BBB+", JP_MIN, JP_HAIRCUTS) == Decimal("0")
    assert counted_share(None, JP_MIN, JP_HAIRCUTS) == Decimal("0")
    assert 1_000_000_000 * counted_share("A", JP_MIN, JP_HAIRCUTS) == 950_000_000
    assert 1_000_000_000 * counted_share("A-", JP_MIN, JP_HAIRCUTS) == 900_000_000


def test_which_jp_changes_reduce_the_offset_by_hand():
    """A -> CCC: 0.95 -> 0 (below A-): reduced.   A -> A-: 0.95 -> 0.90: reduced.
    A -> A+: 0.95 -> 0.95 (same haircut): not reduced, though it is an upgrade of one notch.
    A+ -> A: 0.95 -> 0.95: a one-notch downgrade that reduces nothing.
    AA -> AA-: 1 -> 0.98: reduced.   BBB -> CCC: 0 -> 0 (both below the minimum): not reduced.
    unrated -> A: 0 -> 0.95: not reduced (an increase)."""
    assert reduces_offset("A", "CCC", JP_MIN, JP_HAIRCUTS)
    assert reduces_offset("A", "A-", JP_MIN, JP_HAIRCUTS)
    assert not reduces_offset("A", "A+", JP_MIN, JP_HAIRCUTS)
    assert not reduces_offset("A+", "A", JP_MIN, JP_HAIRCUTS)
    assert reduces_offset("AA", "AA-", JP_MIN, JP_HAIRCUTS)
    assert not reduces_offset("BBB", "CCC", JP_MIN, JP_HAIRCUTS)
    assert not reduces_offset(None, "A", JP_MIN, JP_HAIRCUTS)
    assert reduces_offset("A", None, JP_MIN, JP_HAIRCUTS)  # unrated: below the minimum


def test_rules_without_minimum_or_haircuts_never_reduce():
    """HK-SFC-VATP@1 (and EU-MiCA-67@1): every rating counts 1 - 0 = 1, so A -> CCC, A -> D and A -> unrated
    reduce nothing: the HK regulator's downgrade revokes no HK certificate under these rules."""
    for new in ("CCC", "D", None):
        assert counted_share(new, None, {}) == Decimal("1")
        assert not reduces_offset("A", new, None, {})


def test_reason_in_words():
    assert (downgrade_words("Tokio Mutual Cyber", "A", "CCC", "JP")
            == "insurer Tokio Mutual Cyber downgraded from A to CCC by the JP regulator")
    assert (downgrade_words("Harbour", "BBB", None, "HK")
            == "insurer Harbour downgraded from BBB to unrated by the HK regulator")
    assert downgrade_words("Old", "A", "B", None) == "insurer Old downgraded from A to B"  # an event from before v2


ratings = st.one_of(st.none(), st.sampled_from(SCALE))
minimums = st.one_of(st.none(), st.sampled_from(SCALE))


@st.composite
def monotone_haircuts(draw):
    """A haircut table that never falls as the rating worsens (as every shipped table does)."""
    n = draw(st.integers(0, len(SCALE)))
    steps = draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    out, level = {}, 0
    for r, step in zip(SCALE[:n], steps, strict=True):
        level = min(100, level + step)
        out[r] = Decimal(level) / 100
    return out


@given(ratings, ratings, minimums, monotone_haircuts())
def test_reduces_exactly_when_the_counted_share_falls(old, new, minimum, haircuts):
    share_old, share_new = counted_share(old, minimum, haircuts), counted_share(new, minimum, haircuts)
    assert Decimal(0) <= share_new <= Decimal(1)
    assert reduces_offset(old, new, minimum, haircuts) == (share_new < share_old)
    assert not reduces_offset(old, old, minimum, haircuts)  # no change, no reduction


@given(st.sampled_from(SCALE), st.sampled_from(SCALE), monotone_haircuts(), st.data())
def test_an_upgrade_never_reduces_under_a_valid_monotone_table(a, b, haircuts, data):
    """With a minimum and a haircut for every rating that meets it (what rule-set validation demands), the
    haircut never falling as ratings worsen: moving an insurer up never reduces what its cover counts for."""
    if not haircuts:
        return
    minimum = data.draw(st.sampled_from(SCALE[:len(haircuts)]))
    better, worse = sorted((a, b), key=SCALE.index)
    assert not reduces_offset(worse, better, minimum, haircuts)

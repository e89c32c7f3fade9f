"""The diff of two rule-set documents (the regulator's compare page): worked by hand, plus properties."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from marketplace.domain.rulesets import ParamChange, diff_documents


def _p(value, source="src", provisional=True) -> dict:
    return {"value": value, "source": source, "provisional": provisional}


V1 = {
    "id": "JP-FSA-2026", "version": "1", "jurisdiction": "JP", "title": "T", "effective_from": "2026-04-01",
    "currency": "JPY",
    "params": {
        "custody_rates": _p({"hot": "0.01"}, "WG report: client assets"),
        "min_insurer_rating": _p("A-"),
        "max_insurer_share": _p("0.50", "old source"),
        "unregistered_custodian_loading": _p("0.25"),
        "rounding": _p("ROUND_HALF_EVEN", "convention", False),
        "tiers": _p([{"min_volume": 0, "floor": 1, "cap": 2}]),
    },
}


def _v2() -> dict:
    doc = copy.deepcopy(V1)
    doc["version"], doc["effective_from"] = "2", "2027-04-01"
    p = doc["params"]
    p["custody_rates"] = _p({"cold": "0.01", "hot": "0", "other": "0.02"}, "WG report: cold")
    p["min_insurer_rating"] = _p("A")
    p["max_insurer_share"] = _p("0.50", "new source")
    p["rounding"] = _p("ROUND_HALF_EVEN", "convention", True)
    del p["unregistered_custodian_loading"]
    p["min_initial_term_days"] = _p(365, "MiCA Art. 67(5)")
    return doc


def test_added_removed_and_changed_with_both_entries_and_their_sources():
    d = diff_documents(V1, _v2())
    assert d.header == (("version", "1", "2"), ("effective_from", "2026-04-01", "2027-04-01"))
    assert d.added == (ParamChange("min_initial_term_days", None, _p(365, "MiCA Art. 67(5)")),)
    assert d.removed == (ParamChange("unregistered_custodian_loading", _p("0.25"), None),)
    by_name = {c.name: c for c in d.changed}
    assert list(by_name) == ["custody_rates", "max_insurer_share", "min_insurer_rating", "rounding"]
    custody = by_name["custody_rates"]
    assert custody.parts == ("value", "source")
    assert custody.keys == (("cold", None, "0.01"), ("hot", "0.01", "0"), ("other", None, "0.02"))
    assert (custody.old["source"], custody.new["source"]) == ("WG report: client assets", "WG report: cold")
    assert by_name["min_insurer_rating"].parts == ("value",)
    assert (by_name["min_insurer_rating"].old["value"], by_name["min_insurer_rating"].new["value"]) == ("A-", "A")
    assert by_name["min_insurer_rating"].keys == ()  # a scalar: no per-key detail
    assert by_name["max_insurer_share"].parts == ("source",)  # the value stayed, its source changed
    assert by_name["rounding"].parts == ("provisional",)
    assert d.unchanged == ("tiers",)
    assert not d.same


def test_a_version_compared_with_itself_has_no_differences():
    d = diff_documents(V1, copy.deepcopy(V1))
    assert d.same and d.header == d.added == d.removed == d.changed == ()
    assert d.unchanged == tuple(sorted(V1["params"]))


def test_reversing_the_comparison_swaps_added_and_removed():
    forward, back = diff_documents(V1, _v2()), diff_documents(_v2(), V1)
    assert [c.name for c in forward.added] == [c.name for c in back.removed]
    assert [c.name for c in forward.removed] == [c.name for c in back.added]
    assert [(c.name, c.old, c.new) for c in forward.changed] == [(c.name, c.new, c.old) for c in back.changed]


def test_values_are_compared_exactly_as_published():
    a = {"params": {"fx_mismatch_haircut": _p("0.08")}}
    b = {"params": {"fx_mismatch_haircut": _p("0.080")}}  # equal as numbers, but not what was published
    assert [c.name for c in diff_documents(a, b).changed] == ["fx_mismatch_haircut"]


def test_missing_or_empty_params_are_no_parameters():
    d = diff_documents({}, {"params": {"rounding": _p("ROUND_HALF_UP")}})
    assert [c.name for c in d.added] == ["rounding"] and d.removed == d.changed == ()
    assert diff_documents({"params": None}, {}).same


names = st.sampled_from(["a", "b", "c", "d", "e", "f"])
entries = st.builds(_p, st.one_of(st.text(max_size=3), st.integers(0, 3),
                                  st.dictionaries(st.sampled_from("xyz"), st.text(max_size=2), max_size=3)),
                    st.sampled_from(["s1", "s2"]), st.booleans())


@given(st.dictionaries(names, entries), st.dictionaries(names, entries))
def test_every_parameter_lands_in_exactly_one_bucket(old, new):
    d = diff_documents({"params": old}, {"params": new})
    buckets = ([c.name for c in d.added] + [c.name for c in d.removed] + [c.name for c in d.changed]
               + list(d.unchanged))
    assert sorted(buckets) == sorted(set(old) | set(new))
    assert {c.name for c in d.added} == set(new) - set(old)
    assert {c.name for c in d.removed} == set(old) - set(new)
    for c in d.changed:
        assert c.parts and all(c.old[p] != c.new[p] for p in c.parts)
        assert all(old[c.name][p] == new[c.name][p] for p in ("value", "source", "provisional") if p not in c.parts)
    assert d.same == (old == new)

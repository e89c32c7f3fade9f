import copy
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.domain.errors import RuleSetInvalid
from marketplace.domain.rulesets import digest_of, parse_ruleset, select_ruleset

from .helpers import EU, HK, JP, shipped, shipped_document

# Pinned on purpose: an edit to a shipped rule-set must be a deliberate new version, not an accident.
PINNED = {
    JP: "sha256:d559fbc33f5eecfe180689eb3a4814a1f969093f3d95b12655abbac3bc272f3f",
    EU: "sha256:fec9fde584e3705dff37b2462a403f0a6f084816dd0cdb7b35a34121e9c41f21",
    HK: "sha256:0c52f36a556e64263cff93cc75365b3f7107daf22c4f83beca98a285d3baf9d2",
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_shipped_digests_are_pinned(name):
    assert shipped(name).digest == PINNED[name]


def test_digest_is_sha256_of_rfc8785_canonical_json():
    """Key order and whitespace do not change the digest; RFC 8785 sorts keys and drops whitespace."""
    import hashlib
    import json

    doc = shipped_document(JP)
    reordered = json.loads(json.dumps(doc, sort_keys=True), object_pairs_hook=lambda kv: dict(reversed(kv)))
    assert digest_of(reordered) == digest_of(doc)
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert digest_of(doc) == "sha256:" + hashlib.sha256(canonical).hexdigest()


def test_every_param_has_source_and_jp_is_provisional():
    for name in PINNED:
        for pname, entry in shipped_document(name)["params"].items():
            assert entry["source"].strip(), pname
    assert all(p["provisional"] for p in shipped_document(JP)["params"].values())


def _invalid(mutate) -> dict[str, str]:
    doc = copy.deepcopy(shipped_document(JP))
    mutate(doc)
    with pytest.raises(RuleSetInvalid) as e:
        parse_ruleset(doc)
    return dict(e.value.errors)


def test_floats_are_refused():
    def mutate(d):
        d["params"]["volume_rates"]["value"] = {"spot": 0.000025, "a/b~c": 1.0}
        d["title"] = 1.5

    errors = _invalid(mutate)
    assert "floats" in errors["/params/volume_rates/value/spot"] and "floats" in errors["/title"]
    assert "floats" in errors["/params/volume_rates/value/a~1b~0c"] and "" not in errors


def test_every_bad_field_is_named():
    def mutate(d):
        d["currency"] = "XXX"
        d["effective_from"] = "2026-13-01"
        d["surprise"] = 1
        d["params"]["rounding"]["value"] = "ROUND_DOWN"
        d["params"]["incident_decay_by_age_years"]["value"] = ["0.5", "0.9", "0.1", "0", "0"]
        d["params"]["tiers"]["value"][1]["floor"] = 1
        d["params"]["typo_rate"] = {"value": "1", "source": "x", "provisional": True}
        d["params"]["max_insurer_share"]["source"] = ""
        del d["params"]["fx_mismatch_haircut"]
    errors = _invalid(mutate)
    for path in ["/currency", "/effective_from", "/surprise", "/params/rounding/value",
                 "/params/incident_decay_by_age_years/value", "/params/tiers/value", "/params/typo_rate",
                 "/params/max_insurer_share/source", "/params/fx_mismatch_haircut"]:
        assert path in errors, path
    assert "never increase" in errors["/params/incident_decay_by_age_years/value"]


def test_incident_params_come_together():
    errors = _invalid(lambda d: d["params"].pop("incident_weights"))
    assert "/params/incident_weights" in errors


def test_decay_length_matches_lookback():
    errors = _invalid(lambda d: d["params"]["incident_lookback_years"].__setitem__("value", 3))
    assert "/params/incident_decay_by_age_years/value" in errors


def test_haircut_needed_for_each_eligible_rating():
    errors = _invalid(lambda d: d["params"]["rating_haircuts"]["value"].pop("A"))
    assert "A" in errors["/params/rating_haircuts/value"]


def test_select_ruleset_by_effective_date():
    v1 = shipped(JP)
    doc = copy.deepcopy(shipped_document(JP))
    doc["version"], doc["effective_from"] = "2", "2027-04-01"
    v2 = parse_ruleset(doc)
    assert v2.digest != v1.digest
    assert select_ruleset([v1, v2], "JP", date(2027, 1, 1)) is v1
    assert select_ruleset([v1, v2], "JP", date(2027, 4, 1)) is v2
    assert select_ruleset([v1, v2], "EU", date(2027, 4, 1)) is None


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["JPY", "2027-01-01", "1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(field=st.sampled_from(["id", "version", "jurisdiction", "title", "effective_from", "currency", "params"]),
       value=JSON_VALUES, param=st.sampled_from(sorted(shipped_document(JP)["params"])), in_param=st.booleans())
def test_any_json_in_any_field_is_named_never_a_crash(field, value, param, in_param):
    """A field of any JSON type (the fuzz tier found a list currency raising TypeError): RuleSetInvalid only."""
    doc = copy.deepcopy(shipped_document(JP))
    if in_param:
        doc["params"][param]["value"] = value
    else:
        doc[field] = value
    try:
        parse_ruleset(doc)
    except RuleSetInvalid as e:
        assert e.errors

"""The safe JSON reader: depth counted without recursion, surrogates and non-finite numbers refused."""

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.domain import jsontext

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=20)


def depth(v) -> int:
    if isinstance(v, list):
        return 1 + max((depth(x) for x in v), default=0)
    if isinstance(v, dict):
        return 1 + max((depth(x) for x in v.values()), default=0)
    return 0


@given(JSON)
def test_depth_is_counted_like_the_structure(value):
    text = json.dumps(value)
    assert jsontext.nesting_depth(text) == depth(value)
    assert jsontext.loads(text, max_depth=64) == value


@given(st.text() | st.binary())
def test_any_text_parses_or_raises_the_documented_error(text):
    with contextlib.suppress(jsontext.JSONTextError):
        jsontext.loads(text)


@pytest.mark.parametrize(("text", "reason"), [
    ("[" * 65 + "]" * 65, "nested deeper"), ('{"a":' * 5000 + "1" + "}" * 5000, "nested deeper"),
    ('"\\ud800"', "surrogate"), ('["\\udfff", 1]', "surrogate"), ("1e999", "out of range"), ("NaN", "NaN"),
    ("-Infinity", "Infinity"), ("1" * 5000, "not valid JSON"), (b"\xff", "not UTF-8")])
def test_hostile_text_is_refused_with_the_reason(text, reason):
    with pytest.raises(jsontext.JSONTextError, match=reason):
        jsontext.loads(text)


def test_brackets_inside_strings_do_not_count_and_pairs_are_fine():
    assert jsontext.loads('{"a": "[[[[[[{{{{\\"]]"}', max_depth=1) == {"a": '[[[[[[{{{{"]]'}
    assert jsontext.loads('"\\ud83d\\ude00"') == "\U0001f600"
    assert jsontext.loads("[" * 64 + "]" * 64, max_depth=64)


def test_fractions_are_decimals_never_floats():
    from decimal import Decimal

    assert jsontext.loads('{"rate": 0.1, "n": 3}') == {"rate": Decimal("0.1"), "n": 3}
    assert type(jsontext.loads("0.1")) is Decimal
    assert jsontext.loads("1e308") == Decimal("1e308")
    with pytest.raises(jsontext.JSONTextError, match="out of range"):
        jsontext.loads("1e-400")

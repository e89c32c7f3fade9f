"""Parse untrusted JSON text safely: bounded nesting, no lone surrogates, no NaN/Infinity.

Python's json module recurses once per nesting level, so a body nested a few thousand deep raises
RecursionError deep inside the parser. We count depth on the raw text first (outside strings), which is
linear and recursion-free, and refuse before parsing.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

MAX_DEPTH = 64
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # only such an escape can produce a surrogate


class JSONTextError(ValueError):
    """The text is not acceptable JSON; the message says why in plain words."""


def nesting_depth(text: str | bytes) -> int:
    """Deepest nesting of [ and { outside string literals (no parsing, no recursion)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


MAX_EXPONENT = 308  # as far as a double reaches: beyond it a number is no amount and no rate


def _decimal(text: str) -> Decimal:
    """Numbers with a fraction or an exponent become Decimal, never float: no binary rounding reaches a
    rate or an amount. A huge exponent is refused here, before int() of it could cost unbounded memory."""
    value = Decimal(text)
    if abs(value.adjusted()) > MAX_EXPONENT:
        raise JSONTextError(f"the number {text[:20]} is out of range")
    return value


def _refuse_constant(name: str):
    raise JSONTextError(f"{name} is not JSON")


def has_lone_surrogate(value) -> bool:
    """True when any string (key or value) inside a parsed JSON value holds an unpaired surrogate."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if _LONE_SURROGATE.search(v):
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_decimal)  # stateless: shared


def loads(text: str | bytes, max_depth: int = MAX_DEPTH):
    """json.loads for untrusted input. Raises JSONTextError (a ValueError) with the reason."""
    scan = True
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONTextError("the text is not UTF-8") from None
        scan = False  # strict UTF-8 decoding never yields a surrogate (it refuses encoded ones)
    # fast paths first (C-speed counts and searches): the character scan runs only when it could matter
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise JSONTextError(f"nested deeper than {max_depth} levels")
    if scan and _LONE_SURROGATE.search(text):
        raise JSONTextError("the text holds an unpaired UTF-16 surrogate")
    try:
        value = _DECODER.decode(text)
    except JSONTextError:
        raise
    except (ValueError, RecursionError) as e:
        raise JSONTextError(f"not valid JSON ({e.__class__.__name__})") from None
    # a surrogate escape needs a backslash: finding none (memchr) is far quicker than the regex's scan
    if "\\" in text and _SURROGATE_ESCAPE.search(text) and has_lone_surrogate(value):
        raise JSONTextError("a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)")
    return value

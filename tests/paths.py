"""URL rules filled in for tests that call every route with some parameter of a kind (tests/integration)."""

from __future__ import annotations

import re

PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")  # a rule's <converter:name> or <name>


def converters(rule: str) -> list[str]:
    """Each parameter's converter as written ("" for the default, "int(max=...)", "any(a,b)")."""
    return [conv for conv, _ in PARAM.findall(rule)]


def filled(rule: str, text: str = "x", number: str = "1") -> str:
    """The rule's path: `number` for each integer parameter, the first word of an any(...), `text` for the rest."""
    def value(m: re.Match) -> str:
        conv = m.group(1) or ""
        if conv.startswith("int"):
            return number
        if conv.startswith("any("):
            return conv[4:].split(",")[0]
        return text

    return PARAM.sub(value, rule)

"""A NUL in any text path parameter matches no route (web.paths.Text): 404, as for an id that names nothing, never
handed to the database, where PostgreSQL refuses NUL in text (it was a 500 on id routes). Every rule with a text
parameter, API and portal, each method, signed in as an exchange and as a regulator, on both backends."""

from __future__ import annotations

import re

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.registry.models import Organization
from tests.bearer import bearer_headers

NUL_VALUES = ("%00", "a%00b", "%00" * 40)
PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")


def _fill(converter: str | None, text: str) -> str:
    """The NUL text for a text parameter, a valid value for the others (an int, one of any(...)'s words)."""
    if converter == "int":
        return "1"
    if converter and converter.startswith("any("):
        return converter[4:].split(",")[0]
    return text


def test_a_nul_in_any_path_parameter_is_a_404_never_a_5xx(demo):
    orgs = {o.name: o for o in db.session.scalars(select(Organization))}
    callers = [bearer_headers(demo, orgs[n]) for n in ("Sakura Digital Exchange", "Financial Services Agency (Japan)")]
    client = demo.test_client()
    rules = [r for r in demo.url_map.iter_rules()
             if any(conv in ("", "string") for conv, _ in PARAM.findall(r.rule))
             and not r.rule.startswith("/api/docs/assets")]
    assert len(rules) > 40
    calls = 0
    for rule in rules:
        for value in NUL_VALUES:
            url = PARAM.sub(lambda m, v=value: _fill(m.group(1), v), rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for headers in callers:
                    r = client.open(url, method=method, headers=headers, json=None if method == "GET" else {})
                    calls += 1
                    assert r.status_code == 404, f"{method} {url}: {r.status_code} {r.data[:200]!r}"
                    if rule.rule.startswith("/api/"):
                        assert r.mimetype == "application/problem+json", url
    assert calls > 300

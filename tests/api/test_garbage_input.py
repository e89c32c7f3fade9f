"""Bad input of every kind on every API route: never a 5xx, always problem+json for errors."""

import json
import re

from tests.api.test_tenancy_matrix import _ids

BODIES = [None, [], [None], "text", 7, 1e308, True, {"amount": {"amount": "1e5", "currency": "XXX"}},
          {"period": ["2027-Q1"], "exchange": {"$ne": 1}}, {"name": "\u0000\ud7ff" * 50, "kind": None},
          {"rows": [[[[[]]]]]}, {"month": "2027-02-30", "as_of": "yesterday", "rating": 3.5}]
QUERIES = ["?page=0", "?page=abc&per_page=-3", "?per_page=100000", "?from=2027-13-45&to=x", "?sort=;drop",
           "?exchange=%00", "?current=maybe", "?kind=" + "x" * 5000]


def test_no_route_answers_5xx(world):
    ids = _ids(world)
    ids.update(org_id="not-a-uuid", obligation_id="../../etc/passwd", ruleset_id="JP-FSA-2026", version="1")
    ids.setdefault("list_id", "1")
    rules = [r for r in world.app.url_map.iter_rules() if r.rule.startswith("/api/v1")]
    for who in ("fsa", "sakura"):
        world.token(who)
    calls = 0
    for rule in rules:
        for real_ids in (True, False):
            values = ids if real_ids else dict.fromkeys(ids, "%ff%00'")
            url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m, v=values: v[m.group(1)], rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                for who in ("fsa", "sakura"):
                    variants = ([("json", b) for b in BODIES] + [("csv", "a,b\n\"unterminated"), ("csv", "\xff")]
                                if method == "POST" else [("query", q) for q in QUERIES])
                    for kind, value in variants:
                        kw = {}
                        target = url
                        if kind == "json":
                            kw = {"data": json.dumps(value), "content_type": "application/json"}
                        elif kind == "csv":
                            kw = {"data": value.encode("utf-8", "surrogatepass"), "content_type": "text/csv"}
                        else:
                            target = url + value
                        r = world.call(method.lower(), target, who, **kw)
                        calls += 1
                        assert r.status_code < 500, f"{who} {method} {target} {kind}={value!r}: {r.status_code}"
                        if r.status_code >= 400:
                            assert r.mimetype == "application/problem+json", f"{method} {target}"
    assert calls > 500

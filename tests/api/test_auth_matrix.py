"""Every API route: no token -> 401 with a challenge; expired token -> 401; a token lacking the route's scope -> 403."""

import re
import time

from marketplace.auth.service import find_token
from marketplace.extensions import db


def test_every_route_checks_token_and_scope(world):
    rules = [r for r in world.app.url_map.iter_rules() if r.rule.startswith("/api/v1")]
    narrow = world.as_("fsa", ["registry:read"])
    narrow_exchange = world.as_("sakura", ["reports:read"])
    expired = world.as_("sakura")
    row = find_token(world.token("sakura"))
    row.issued_at = int(time.time()) - 7200
    db.session.commit()
    checked = 0
    for rule in rules:
        fill = {"kind": "volume", "action": "list"}
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m, f=fill: f.get(m.group(1), "x"), rule.rule)
        scope = world.app.view_functions[rule.endpoint].required_scope
        if scope is None:
            continue  # public by design (JWKS, status lists, verification)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            call = getattr(world.client, method.lower())
            for headers in ({}, expired):
                r = call(url, headers=headers, json={})
                assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer"), (method, url)
            wrong = narrow_exchange if scope == "registry:read" else narrow
            r = call(url, headers=wrong, json={})
            assert r.status_code == 403 and r.json["required_scope"] == scope, (method, url, r.status_code)
            checked += 1
    assert checked >= 25

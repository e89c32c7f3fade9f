"""An integer path parameter past what its column holds is refused (web.paths.BoundedInteger): 422 naming the
parameter, never handed to the database. PostgreSQL refuses a number past 32 bits in a comparison with an INTEGER
column (a 500 on GET /api/v1/status-lists/642521566603114, found by the fuzz tier run on PostgreSQL), where SQLite
compares it. Every rule with an integer parameter, each method, on both backends."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.registry.models import Organization
from tests.bearer import bearer_headers
from tests.paths import converters, filled

LARGE = (2**31 - 1, 2**31, 642521566603114, 2**63 - 1, 2**63, 10**30)


def test_a_large_integer_in_any_path_parameter_is_refused_never_a_5xx(demo):
    orgs = {o.name: o for o in db.session.scalars(select(Organization))}
    callers = [{}, bearer_headers(demo, orgs["Sakura Digital Exchange"])]
    client = demo.test_client()
    rules = [r for r in demo.url_map.iter_rules() if any(c.startswith("int") for c in converters(r.rule))]
    assert rules, "no route with an integer path parameter left: this test then guards nothing"
    for rule in rules:
        for number in LARGE:
            url = filled(rule.rule, number=str(number))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for headers in callers:
                    r = client.open(url, method=method, headers=headers)
                    assert r.status_code < 500, f"{method} {url}: {r.status_code} {r.data[:300]!r}"


def test_a_status_list_id_past_32_bits_is_refused_by_name(demo):
    client = demo.test_client()
    r = client.get(f"/api/v1/status-lists/{2**31}")
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json["errors"] == [{"parameter": "list_id", "detail": f"must be at most {2**31 - 1}"}]
    r = client.get(f"/api/v1/status-lists/{2**31 - 1}")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    from marketplace.certificates.models import StatusList

    listed = db.session.scalar(select(StatusList.id))
    assert client.get(f"/api/v1/status-lists/{listed}").status_code == 200

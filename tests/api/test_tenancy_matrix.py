"""Every API route with an object id, called by every other organization: 403/404 and no foreign data.

The routes come from the app's URL map; a new route with an id parameter that this table does not
know makes the test fail until it is covered.
"""

import re

import pytest
from sqlalchemy import func, select

from marketplace import models
from marketplace.extensions import db
from marketplace.obligations import service as obligations
from marketplace.registry import service as registry

PUBLIC = {"/api/v1/rulesets/<ruleset_id>/versions/<version>"}  # rule-sets are public documents
FOREIGN_CALLERS = ["bafin", "sfc", "rhein", "victoria", "tokio", "harbour"]
# param -> (who owns/sees it, how to find its id)
OWNERS = {
    "org_id": "fsa", "insurer_id": "fsa", "exchange_id": "fsa", "custodian_id": "fsa", "client_id": "fsa",
    "obligation_id": "sakura", "incident_id": "sakura", "record_id": "sakura", "kind": None,
}
TABLES = [models.Organization, models.OrgHistory, models.InsurerApproval, models.Exchange, models.ExchangeCustodian,
          models.Custodian, models.OAuthClient, models.MonthlyVolume, models.IncidentRecord, models.ReportRevision,
          models.ObligationRecord, models.RuleSetVersion]


def _ids(world) -> dict[str, str]:
    sakura = world.org("sakura")
    ex = registry.find_exchange("Kanto-FB-00099")
    ob = obligations.compute(ex, "2027-Q1", "test")
    cid, _ = world.credentials("sakura")
    db.session.commit()
    return {
        "org_id": sakura.id, "insurer_id": world.org("nova").id, "exchange_id": sakura.id,
        "custodian_id": ex.custodians[0].org_id, "client_id": cid, "obligation_id": ob.id,
        "incident_id": db.session.scalar(select(models.IncidentRecord.id).filter_by(exchange_id=sakura.id)),
        "record_id": db.session.scalar(select(models.MonthlyVolume.id).filter_by(exchange_id=sakura.id)),
        "kind": "volume",
    }


def _bodies(ids) -> dict[str, dict]:
    money = {"amount": "1", "currency": "JPY"}
    return {
        "/api/v1/organizations/<org_id>/clients": {"name": "x"},
        "/api/v1/insurers/<insurer_id>/approve": {}, "/api/v1/insurers/<insurer_id>/suspend": {},
        "/api/v1/insurers/<insurer_id>/reinstate": {}, "/api/v1/insurers/<insurer_id>/rating": {"rating": "AA"},
        "/api/v1/exchanges/<exchange_id>/custodians": {"custodian": ids["custodian_id"]},
        "/api/v1/custodians/<custodian_id>/registration": {"status": "registered"},
        "/api/v1/reports/incidents/<incident_id>/corrections": {
            "occurred_on": "2026-01-01", "kind": "hack", "loss": money, "compensated": money},
        "/api/v1/obligations/<obligation_id>/what-if": {"target_net_reserve": money},
    }


def _routes(app):
    for r in app.url_map.iter_rules():
        if r.rule.startswith("/api/v1") and r.arguments and r.rule not in PUBLIC:
            for method in sorted(r.methods - {"HEAD", "OPTIONS"}):
                yield method, r.rule


def _url(rule, ids):
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: ids[m.group(1)], rule)


def _snapshot():
    return {t.__tablename__: db.session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def test_every_id_route_is_closed_to_other_tenants(world):
    ids = _ids(world)
    bodies = _bodies(ids)
    secrets = ["Sakura", "Kanto-FB-00099", "Nova Digital", "Offshore Key", "5883337500", "Financial Services"]
    routes = list(_routes(world.app))
    assert len(routes) >= 12
    for who in [*FOREIGN_CALLERS, "fsa", "sakura"]:
        world.token(who)
    for method, rule in routes:
        params = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)
        unknown = [p for p in params if p not in OWNERS]
        assert not unknown, f"{method} {rule}: add {unknown} to the tenancy matrix"
        if method == "POST" and not rule.endswith(("/revoke", "/approve", "/suspend", "/reinstate")):
            assert rule in bodies, f"{method} {rule}: add a sample body to the tenancy matrix"
        url = _url(rule, ids)
        for caller in FOREIGN_CALLERS:
            before = _snapshot()
            r = world.call(method.lower(), url, caller, json=bodies.get(rule, {}) if method == "POST" else None)
            assert r.status_code in (403, 404), f"{caller} {method} {url}: {r.status_code} {r.json}"
            text = r.get_data(as_text=True)
            leaked = [s for s in secrets if s in text]
            assert not leaked, f"{caller} {method} {url} leaked {leaked}"
            assert _snapshot() == before, f"{caller} {method} {url} changed the database"
        if method == "GET":
            owner = OWNERS[next(p for p in params if OWNERS[p])]
            assert world.call("get", url, owner).status_code == 200, f"{owner} cannot read its own {url}"


@pytest.mark.parametrize("caller", ["rhein", "tokio", "bafin"])
def test_lists_show_no_foreign_rows(world, caller):
    ids = _ids(world)
    for path in ["/api/v1/obligations", "/api/v1/reports/volumes", "/api/v1/reports/incidents",
                 f"/api/v1/reports/volumes?exchange={ids['exchange_id']}", "/api/v1/organizations"]:
        r = world.call("get", path, caller)
        assert r.status_code in (200, 403)
        text = r.get_data(as_text=True)
        assert ids["exchange_id"] not in text and "Sakura" not in text, (caller, path)

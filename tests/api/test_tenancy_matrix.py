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
from marketplace.web.paths import INT32_MAX
from tests.leaks import compact_jws_in

PUBLIC = {  # public by design: rule-sets, insurer keys, status lists, certificate verification
    "/api/v1/rulesets/<ruleset_id>/versions/<version>", "/api/v1/insurers/<insurer_id>/jwks.json",
    f"/api/v1/status-lists/<int(max={INT32_MAX}):list_id>", "/api/v1/certificates/<certificate_id>/verification",
}
FOREIGN_CALLERS = ["bafin", "sfc", "rhein", "victoria", "tokio", "harbour"]
# param -> (who owns/sees it, how to find its id)
OWNERS = {
    "org_id": "fsa", "insurer_id": "fsa", "exchange_id": "fsa", "custodian_id": "fsa", "client_id": "fsa",
    "obligation_id": "sakura", "incident_id": "sakura", "record_id": "sakura", "kind": None,
    "offering_id": "nova", "action": None, "request_id": "sakura", "policy_id": "sakura", "allocation_id": "sakura",
    "certificate_id": "sakura", "kid": "nova", "webhook_id": "sakura", "delivery_id": "sakura",
}
# Routes read by someone other than the owner of their id: a certificate's status at an instant is the
# supervising regulator's view (DESIGN 10), not the exchange's.
ROUTE_READERS = {"/api/v1/certificates/<certificate_id>/status": "fsa"}
# Organizations that may legitimately see an object although they are not its owner.
LEGIT = {"request_id": {"tokio"}, "policy_id": {"harbour"}, "allocation_id": {"harbour"},
         "certificate_id": {"tokio"}}
TABLES = [models.Organization, models.OrgHistory, models.InsurerApproval, models.Exchange, models.ExchangeCustodian,
          models.Custodian, models.OAuthClient, models.MonthlyVolume, models.IncidentRecord, models.ReportRevision,
          models.ObligationRecord, models.RuleSetVersion, models.Offering, models.CoverageRequest, models.Policy,
          models.PolicyRevision, models.Allocation, models.Event, models.Attestation, models.Certificate,
          models.SigningKey, models.StatusList, models.WebhookSubscription, models.WebhookDelivery]


def _ids(world) -> dict[str, str]:
    from decimal import Decimal

    from marketplace.domain.money import Money
    from marketplace.market import service as market

    sakura = world.org("sakura")
    ex = registry.find_exchange("Kanto-FB-00099")
    ob = obligations.compute(ex, "2027-Q1", "test")
    cid, _ = world.credentials("sakura")
    jpy = Money(1_000_000, "JPY")
    draft = market.create_offering(world.org("nova"), {
        "title": "Nova draft", "perils": ["theft_hack"], "jurisdictions": ["JP"], "min_limit": jpy, "max_limit": jpy,
        "capacity": jpy, "deductible": Money(0, "JPY"), "min_term_months": 12, "max_term_months": 12,
        "indicative_rate": Decimal("0.01")})
    hsr = db.session.scalar(select(models.Policy).filter_by(number="HSR-JP-7781"))
    from marketplace.certificates import service as certificates
    from marketplace.keys import service as keys

    cert = certificates.issue(ob, "test")
    from marketplace.crypto.keys import KeyPair

    # a key Nova holds (pending insurers cannot register one through the service: stored directly)
    nova_key = keys._store(KeyPair.generate(), "insurer", world.org("nova").id)
    from marketplace.webhooks import service as webhooks

    hook, _ = webhooks.create(sakura.id, "http://127.0.0.1:9/hook", ["certificate.issued"], "test")
    delivery = models.WebhookDelivery(subscription_id=hook.id, event_id=db.session.scalar(select(models.Event.id)),
                                      event_type="certificate.issued", status="failed")  # never sent
    db.session.add(delivery)
    db.session.commit()
    return {
        "org_id": sakura.id, "insurer_id": world.org("nova").id, "exchange_id": sakura.id,
        "custodian_id": ex.custodians[0].org_id, "client_id": cid, "obligation_id": ob.id,
        "incident_id": db.session.scalar(select(models.IncidentRecord.id).filter_by(exchange_id=sakura.id)),
        "record_id": db.session.scalar(select(models.MonthlyVolume.id).filter_by(exchange_id=sakura.id)),
        "kind": "volume", "offering_id": draft.id, "action": "withdraw",
        "request_id": db.session.scalar(select(models.CoverageRequest.id).filter_by(exchange_id=sakura.id)),
        "policy_id": hsr.id,
        "allocation_id": db.session.scalar(select(models.Allocation.id).filter_by(policy_id=hsr.id)),
        "certificate_id": cert.id, "kid": nova_key.kid, "list_id": str(cert.status_list_id),
        "webhook_id": hook.id, "delivery_id": delivery.id,
    }


def _bodies(ids) -> dict[str, dict]:
    money = {"amount": "1", "currency": "JPY"}
    return {
        "/api/v1/organizations/<org_id>/clients": {"name": "x"},
        "/api/v1/organizations/<org_id>/group": {"group_name": "Sakura Holdings"},
        "/api/v1/insurers/<insurer_id>/approve": {}, "/api/v1/insurers/<insurer_id>/suspend": {},
        "/api/v1/insurers/<insurer_id>/reinstate": {}, "/api/v1/insurers/<insurer_id>/rating": {"rating": "AA"},
        "/api/v1/exchanges/<exchange_id>/custodians": {"custodian": ids["custodian_id"]},
        "/api/v1/custodians/<custodian_id>/registration": {"status": "registered"},
        "/api/v1/reports/incidents/<incident_id>/corrections": {
            "occurred_on": "2026-01-01", "kind": "hack", "loss": money, "compensated": money},
        "/api/v1/obligations/<obligation_id>/what-if": {"target_net_reserve": money},
        "/api/v1/coverage-requests/<request_id>/quote": {"premium": money, "expires_at": "2099-01-01T00:00:00Z"},
        "/api/v1/coverage-requests/<request_id>/decline": {"reason": "no"},
        "/api/v1/coverage-requests/<request_id>/accept": {}, "/api/v1/coverage-requests/<request_id>/withdraw": {},
        "/api/v1/coverage-requests/<request_id>/bind": {},
        "/api/v1/offerings/<offering_id>/<any(list,withdraw):action>": {},
        "/api/v1/policies/<policy_id>/amend": {"limit": {"amount": "5", "currency": "JPY"}},
        "/api/v1/policies/<policy_id>/cancel": {"effective_on": "2099-01-01"},
        "/api/v1/policies/<policy_id>/lapse": {},
        "/api/v1/obligations/<obligation_id>/allocations": {"policy": ids["policy_id"], "amount": money},
        "/api/v1/policies/<policy_id>/attestations": {"jws": "a.b.c"},
        "/api/v1/policies/<policy_id>/attestations/custodial": {},
        "/api/v1/insurer-keys/<kid>/retire": {},
        "/api/v1/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver": {},
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
    secrets = ["Sakura", "Kanto-FB-00099", "Nova Digital", "Offshore Key", "5883337500", "Financial Services",
               "HSR-JP-7781", "Nova draft"]  # and any compact JWS (tests.leaks)
    routes = list(_routes(world.app))
    assert len(routes) >= 12
    for who in [*FOREIGN_CALLERS, "fsa", "sakura", "nova"]:
        world.token(who)
    for method, rule in routes:
        params = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)
        unknown = [p for p in params if p not in OWNERS]
        assert not unknown, f"{method} {rule}: add {unknown} to the tenancy matrix"
        if method == "POST" and not rule.endswith(("/revoke", "/approve", "/suspend", "/reinstate")) \
                and rule != "/api/v1/offerings/<offering_id>/<any(list,withdraw):action>":
            assert rule in bodies, f"{method} {rule}: add a sample body to the tenancy matrix"
        url = _url(rule, ids)
        legit = set().union(*(LEGIT.get(p, set()) for p in params))
        for caller in [c for c in FOREIGN_CALLERS if c not in legit]:
            before = _snapshot()
            r = world.call(method.lower(), url, caller, json=bodies.get(rule, {}) if method == "POST" else None)
            assert r.status_code in (403, 404), f"{caller} {method} {url}: {r.status_code} {r.json}"
            text = r.get_data(as_text=True)
            leaked = [s for s in secrets if s in text] + compact_jws_in(text)
            assert not leaked, f"{caller} {method} {url} leaked {leaked}"
            assert _snapshot() == before, f"{caller} {method} {url} changed the database"
        if method == "GET":
            owner = ROUTE_READERS.get(rule) or OWNERS[[p for p in params if OWNERS[p]][-1]]
            assert world.call("get", url, owner).status_code == 200, f"{owner} cannot read its own {url}"


@pytest.mark.parametrize("caller", ["rhein", "tokio", "bafin"])
def test_lists_show_no_foreign_rows(world, caller):
    ids = _ids(world)
    for path in ["/api/v1/obligations", "/api/v1/reports/volumes", "/api/v1/reports/incidents",
                 f"/api/v1/reports/volumes?exchange={ids['exchange_id']}", "/api/v1/organizations",
                 "/api/v1/webhooks"]:
        r = world.call("get", path, caller)
        assert r.status_code in (200, 403)
        text = r.get_data(as_text=True)
        assert ids["exchange_id"] not in text and "Sakura" not in text, (caller, path)

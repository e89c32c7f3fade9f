"""Webhooks API: subscribe (secret shown once), list, read, delete, delivery log, redelivery, validation,
scopes, tenancy and the SSRF guard at subscription time."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from marketplace.events.kinds import KINDS
from marketplace.events.relay import relay
from marketplace.extensions import db
from marketplace.web.idempotency import IdempotencyKey
from marketplace.webhooks import sender
from marketplace.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.webhook_receiver import Receiver, closed_port

R = "/api/v1/webhooks"


def subscribe(world, who="sakura", url=None, events=("policy.bound",), **kw):
    return world.call("post", R, who, json={"url": url or f"http://127.0.0.1:{closed_port()}/hook",
                                            "events": list(events)}, **kw)


def register_policy(world, number="WH-1"):
    body = {"number": number, "insured": world.org("sakura").id, "limit": {"amount": "1000000", "currency": "JPY"},
            "deductible": {"amount": "0", "currency": "JPY"}, "perils": ["theft_hack"], "term_start": "2026-12-01",
            "term_end": "2028-11-30", "cancellation_notice_days": 90}
    r = world.call("post", "/api/v1/policies", "tokio", json=body)
    assert r.status_code == 201, r.json
    return r.json["id"]


def pointers(r) -> set[str]:
    return {e.get("pointer") for e in r.json.get("errors", [])}


def test_create_shows_the_secret_once_and_keeps_it_encrypted(world):
    key, url = {"Idempotency-Key": "hook-1"}, f"http://127.0.0.1:{closed_port()}/hook"
    r = subscribe(world, url=url, events=["policy.bound", "certificate.revoked", "policy.bound"], headers=key)
    assert r.status_code == 201, r.json
    assert r.headers["Cache-Control"] == "no-store"
    secret = r.json["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    assert r.json["events"] == ["policy.bound", "certificate.revoked"]  # duplicates dropped, order kept
    assert r.json["organization"] == world.org("sakura").id
    # stored wrapped: neither the secret nor its key bytes appear in the row or the idempotency store
    row = db.session.get(WebhookSubscription, r.json["id"])
    raw = base64.b64decode(secret[6:])
    assert secret.encode() not in row.secret_wrapped and raw not in row.secret_wrapped
    assert not any(secret.encode() in (b or b"") for b in db.session.scalars(select(IdempotencyKey.body)))
    again = subscribe(world, url=url, events=["policy.bound", "certificate.revoked", "policy.bound"], headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert "secret" not in again.json and again.json["id"] == r.json["id"]
    assert again.headers["Secret-Redacted"].startswith("secret;")
    listed = world.call("get", R, "sakura")
    assert listed.status_code == 200 and listed.json["total"] == 1 and "secret" not in listed.json["items"][0]
    assert secret not in listed.get_data(as_text=True)
    one = world.call("get", f"{R}/{r.json['id']}", "sakura")
    assert one.status_code == 200 and "secret" not in one.json and one.json["url"] == row.url


@pytest.mark.parametrize(("body", "pointer"), [
    ({"url": "ftp://example.com/x", "events": ["policy.bound"]}, "#/url"),
    ({"url": "https://user:pw@example.com/x", "events": ["policy.bound"]}, "#/url"),
    ({"url": "https://@example.com/x", "events": ["policy.bound"]}, "#/url"),
    ({"url": "https://example.com/x#frag", "events": ["policy.bound"]}, "#/url"),
    ({"url": "https://example.com:99999/x", "events": ["policy.bound"]}, "#/url"),
    ({"url": "https:///nohost", "events": ["policy.bound"]}, "#/url"),
    ({"url": "https://bücher.example/x", "events": ["policy.bound"]}, "#/url"),
    ({"url": "https://example.com/" + "a" * 2000, "events": ["policy.bound"]}, "#/url"),
    ({"url": "not a url", "events": ["policy.bound"]}, "#/url"),
    ({"events": ["policy.bound"]}, "#/url"),
    ({"url": "https://example.com/x"}, "#/events"),
    ({"url": "https://example.com/x", "events": []}, "#/events"),
    ({"url": "https://example.com/x", "events": "policy.bound"}, "#/events"),
    ({"url": "https://example.com/x", "events": ["policy.nope"]}, "#/events/0"),
    ({"url": "https://example.com/x", "events": ["policy.bound"], "secret": "mine"}, "#/secret"),
])
def test_invalid_subscriptions_name_the_field(world, body, pointer):
    r = world.call("post", R, "sakura", json=body)
    assert r.status_code == 422 and r.mimetype == "application/problem+json", r.json
    assert pointer in pointers(r), r.json
    assert db.session.scalar(select(WebhookSubscription.id)) is None


def test_every_event_type_may_be_subscribed(world):
    r = subscribe(world, events=sorted(KINDS))
    assert r.status_code == 201 and set(r.json["events"]) == set(KINDS)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://127.1/hook", "http://2130706433/hook", "http://10.0.0.1/hook",
    "http://192.168.1.10/hook", "http://172.16.0.1/hook", "http://[::1]/hook", "http://169.254.169.254/latest",
    "http://[fe80::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://[::ffff:10.0.0.1]/hook", "http://0.0.0.0/",
    "http://100.64.0.1/", "http://224.0.0.1/", "http://240.0.0.1/", "http://[fc00::1]/", "http://[::]/",
    "http://[2002:7f00:1::]/", "http://localhost/hook", "http://localhost:8080/hook",
])
def test_private_targets_are_refused_unless_allowed(world, url):
    world.app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    r = world.call("post", R, "sakura", json={"url": url, "events": ["policy.bound"]})
    assert r.status_code == 422 and pointers(r) == {"#/url"}, r.json
    assert "public addresses" in r.json["errors"][0]["detail"] or "resolve" in r.json["errors"][0]["detail"]
    world.app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    assert world.call("post", R, "sakura", json={"url": url, "events": ["policy.bound"]}).status_code == 201


def test_scopes_and_roles(world):
    assert world.call("post", R, json={"url": "http://127.0.0.1/x", "events": ["policy.bound"]}).status_code == 401
    r = world.call("post", R, headers=world.as_("sakura", ["webhooks:read"]),
                   json={"url": "http://127.0.0.1/x", "events": ["policy.bound"]})
    assert r.status_code == 403 and r.json["required_scope"] == "webhooks:write"
    assert world.call("get", R, headers=world.as_("sakura", ["policies:read"])).status_code == 403
    for who in ("fsa", "sakura", "tokio"):  # every kind but custodians
        assert subscribe(world, who).status_code == 201


def test_other_organizations_see_nothing(world):
    hook = subscribe(world, "sakura").json["id"]
    subscribe(world, "fsa")
    for who in ("fsa", "rhein", "tokio"):
        listed = world.call("get", R, who).json
        assert hook not in [h["id"] for h in listed["items"]]
        assert world.call("get", f"{R}/{hook}", who).status_code == 404
        assert world.call("delete", f"{R}/{hook}", who).status_code == 404
        assert world.call("get", f"{R}/{hook}/deliveries", who).status_code == 404
    assert world.call("get", R, "sakura").json["total"] == 1


def test_pagination(world):
    for _ in range(3):
        subscribe(world)
    r = world.call("get", f"{R}?per_page=2&page=2", "sakura")
    assert r.status_code == 200 and r.json["total"] == 3 and len(r.json["items"]) == 1
    assert 'rel="first"' in r.headers["Link"]
    assert world.call("get", f"{R}?per_page=0", "sakura").status_code == 422


def test_at_most_twenty_webhooks_per_organization(world):
    for _ in range(20):
        assert subscribe(world).status_code == 201
    r = subscribe(world)
    assert r.status_code == 409 and "at most 20" in r.json["detail"]
    world.call("delete", f"{R}/{world.call('get', R, 'sakura').json['items'][0]['id']}", "sakura")
    assert subscribe(world).status_code == 201


def test_delivery_log_redelivery_and_delete(world):
    with Receiver() as rx:
        created = subscribe(world, url=rx.url("/sakura"), events=["policy.bound", "policy.cancelled"]).json
        hook, secret = created["id"], created["secret"]
        pid = register_policy(world)  # in-process: relayed and sent right after the commit
        [body] = rx.verified("/sakura", secret)
        assert body["type"] == "policy.bound" and body["data"]["policy_id"] == pid
        log = world.call("get", f"{R}/{hook}/deliveries", "sakura")
        assert log.status_code == 200 and log.json["total"] == 1
        d = log.json["items"][0]
        assert d["status"] == "succeeded" and d["attempts"] == 1 and d["last_response_status"] == 200
        assert d["event_type"] == "policy.bound" and d["next_attempt_at"] is None and d["completed_at"]
        assert d["id"] == rx.at("/sakura")[0].headers["webhook-id"] and d["webhook"] == hook

        r = world.call("post", f"{R}/{hook}/deliveries/{d['id']}/redeliver", "sakura")
        assert r.status_code == 202 and r.json["id"] == d["id"]
        first, second = rx.at("/sakura")
        assert second.headers["webhook-id"] == first.headers["webhook-id"] and second.body == first.body
        assert len(rx.verified("/sakura", secret)) == 2
        d = world.call("get", f"{R}/{hook}/deliveries?status=succeeded", "sakura").json["items"][0]
        assert d["attempts"] == 2 and d["status"] == "succeeded"
        assert world.call("get", f"{R}/{hook}/deliveries?status=failed", "sakura").json["total"] == 0
        assert world.call("get", f"{R}/{hook}/deliveries?event_type=policy.lapsed", "sakura").json["total"] == 0
        assert world.call("get", f"{R}/{hook}/deliveries?status=nope", "sakura").status_code == 422

        # a delivery of another webhook of the same organization is not this webhook's
        other = subscribe(world).json["id"]
        assert world.call("post", f"{R}/{other}/deliveries/{d['id']}/redeliver", "sakura").status_code == 404
        assert world.call("post", f"{R}/{hook}/deliveries/nope/redeliver", "sakura").status_code == 404

        # deleted: gone from the API, pending deliveries end as failed, nothing more is sent
        world.app.config["WEBHOOKS_SEND"] = False
        world.call("post", f"{R}/{hook}/deliveries/{d['id']}/redeliver", "sakura")
        assert world.call("delete", f"{R}/{hook}", "sakura").status_code == 204
        world.app.config["WEBHOOKS_SEND"] = True
        db.session.remove()
        row = db.session.get(WebhookDelivery, d["id"])
        assert row.status == "failed" and row.last_error == "the webhook was deleted"
        assert world.call("get", f"{R}/{hook}", "sakura").status_code == 404
        assert world.call("get", f"{R}/{hook}/deliveries", "sakura").status_code == 404
        assert world.call("delete", f"{R}/{hook}", "sakura").status_code == 404
        register_policy(world, "WH-2")
        relay()
        sender.send_due()
        assert len(rx.at("/sakura")) == 2


def test_failed_attempts_show_in_the_log(world):
    hook = subscribe(world).json["id"]  # nothing listens there: connection refused
    register_policy(world)
    [d] = world.call("get", f"{R}/{hook}/deliveries", "sakura").json["items"]
    assert d["status"] == "pending" and d["attempts"] == 1 and d["last_response_status"] is None
    assert "refused" in d["last_error"].lower() and d["next_attempt_at"] > d["last_attempt_at"]


def test_only_subscribed_types_are_delivered(world):
    hook = subscribe(world, events=["certificate.issued"]).json["id"]
    register_policy(world)
    assert world.call("get", f"{R}/{hook}/deliveries", "sakura").json["total"] == 0

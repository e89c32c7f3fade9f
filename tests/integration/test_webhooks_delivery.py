"""Webhook deliveries end to end, on SQLite and PostgreSQL, to a real HTTP receiver on 127.0.0.1.

Every request the receiver gets is verified with the `standardwebhooks` verifier and with the HMAC of the
specification written out (tests/webhook_receiver.py). Real flows run through the API; in-process mode
relays and sends right after each commit, and the tests drain with `relay()` and `send_due()` where they
must be sure. Retries are driven by moving `next_attempt_at` into the past, never by sleeping.
No traffic leaves the loopback interface: refused targets are refused before any connection.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from marketplace.adequacy import service as adequacy
from marketplace.db import utcnow
from marketplace.events.kinds import KINDS
from marketplace.events.models import Event
from marketplace.events.relay import relay
from marketplace.extensions import db
from marketplace.uow import unit_of_work
from marketplace.webhooks import sender
from marketplace.webhooks.models import WebhookDelivery
from tests.api.conftest import ORGS, World
from tests.webhook_receiver import Receiver

R = "/api/v1"
# Which regulators admitted which insurer in the demo world (marketplace/demo/data.py), by test key.
ADMITTED_BY = {"tokio": {"fsa", "bafin", "sfc"}, "harbour": {"fsa", "sfc"}, "nova": {"fsa"}}
REGULATOR_OF = {"JP": "fsa", "EU": "bafin", "HK": "sfc"}


def jpy(n: int) -> dict:
    return {"amount": str(n), "currency": "JPY"}


def ok(r, status=(200, 201)):
    assert r.status_code in ((status,) if isinstance(status, int) else status), (r.status_code, r.json)
    return r.json


def drain() -> None:
    """Run the relay and the sender until nothing is due (in-process mode has done most of it already)."""
    for _ in range(5):
        relay()
        if not sender.send_due()["claimed"] and not relay()["done"]:
            return


def subscribe(w: World, who: str, url: str, events=None) -> dict:
    return ok(w.call("post", f"{R}/webhooks", who, json={"url": url, "events": events or sorted(KINDS)}), 201)


def deliveries(**filters) -> list[WebhookDelivery]:
    db.session.remove()
    return db.session.scalars(select(WebhookDelivery).filter_by(**filters).order_by(WebhookDelivery.created_at)).all()


def make_due(delivery_id: str) -> None:
    db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def wait_of(d: WebhookDelivery) -> timedelta:
    """The wait before the next attempt, from when the attempt began: the scheduled wait counts from when it
    ended, so this is a little longer; rounded down to a step of the schedule when within 3 s of it."""
    actual = d.next_attempt_at - d.last_attempt_at
    return next((w for w in sender.RETRY_DELAYS if w <= actual < w + timedelta(seconds=3)), actual)


def register_policy(w: World, number: str, **kw) -> str:
    body = {"number": number, "insured": w.org("sakura").id, "limit": jpy(1_000_000_000), "deductible": jpy(0),
            "perils": ["theft_hack", "insider_fraud", "operational_failure"], "term_start": "2026-12-01",
            "term_end": "2028-11-30", "cancellation_notice_days": 90, **kw}
    return ok(w.call("post", f"{R}/policies", "tokio", json=body), 201)["id"]


def expected_receivers(body: dict, keys_by_id: dict[str, str]) -> set[str]:
    """Worked out from the payload and the demo world, not from the service's audience: the organizations the
    event names, the regulator of its jurisdiction, or (no jurisdiction) the regulators that admitted the
    insurer it is about."""
    data = body["data"]
    named = {data.get("exchange_id"), data.get("insurer_id"), *data.get("insurer_ids", [])} - {None}
    out = {keys_by_id[i] for i in named}
    if data["jurisdiction"]:
        out.add(REGULATOR_OF[data["jurisdiction"]])
    else:
        out |= set().union(*(ADMITTED_BY.get(k, set()) for k in out))
    return out


def test_every_event_type_reaches_the_right_organizations_and_nobody_else(demo):
    w = World(demo)
    keys_by_id = {w.org(k).id: k for k in ORGS}
    with Receiver() as rx:
        secrets = {k: subscribe(w, k, rx.url(f"/{k}"))["secret"] for k in ORGS}
        t0 = utcnow()

        # JP: a policy bound, amended; an obligation computed; cover attached; a certificate issued
        pid = register_policy(w, "WH-JP-1")
        ok(w.call("post", f"{R}/policies/{pid}/amend", "tokio", json={"limit": jpy(900_000_000)}))
        ob = ok(w.call("post", f"{R}/obligations", "sakura", json={"period": "2027-Q1"}))["id"]
        alloc = ok(w.call("post", f"{R}/obligations/{ob}/allocations", "sakura",
                          json={"policy": pid, "amount": jpy(800_000_000)}), 201)["id"]
        ok(w.call("post", f"{R}/certificates", "sakura", json={"obligation": ob}), 201)
        # detaching may leave a shortfall (the adequacy subscriber checks); cancelling revokes the certificate
        ok(w.call("delete", f"{R}/obligations/{ob}/allocations/{alloc}", "sakura"))
        ok(w.call("post", f"{R}/obligations/{ob}/allocations", "sakura",
                  json={"policy": pid, "amount": jpy(800_000_000)}), 201)
        ok(w.call("post", f"{R}/certificates", "sakura", json={"obligation": ob}), 201)
        effective = (date.today() + timedelta(days=90)).isoformat()
        ok(w.call("post", f"{R}/policies/{pid}/cancel", "tokio", json={"effective_on": effective}))
        old = register_policy(w, "WH-JP-OLD", term_start="2024-01-01", term_end="2025-12-31")
        ok(w.call("post", f"{R}/policies/{old}/lapse", "tokio"))
        # the regulator: approve a pending insurer, suspend another, change its own rating (per regulator: JP only)
        ok(w.call("post", f"{R}/insurers/{w.org('nova').id}/approve", "fsa", json={}))
        ok(w.call("post", f"{R}/insurers/{w.org('harbour').id}/suspend", "fsa", json={"reason": "capital"}))
        ok(w.call("post", f"{R}/insurers/{w.org('tokio').id}/rating", "fsa", json={"rating": "AA"}))
        # HK: an obligation computed; JP: cash held below the net reserve, then the daily adequacy check
        ok(w.call("post", f"{R}/obligations", "victoria", json={"period": "2027-Q1"}))
        ok(w.call("post", f"{R}/reports/reserve-balances", "sakura",
                  json={"as_of": date.today().isoformat(), "amount": jpy(1)}))
        with unit_of_work():
            assert adequacy.daily()["shortfalls"] >= 1
        drain()

        received: dict[str, set[str]] = defaultdict(set)  # event (its body) -> who received it
        bodies: dict[str, dict] = {}
        for key, secret in secrets.items():
            for body in rx.verified(f"/{key}", secret):  # every signature checked, both ways
                ident = json.dumps(body, sort_keys=True)
                assert key not in received[ident], f"{key} received {body['type']} twice"
                received[ident].add(key)
                bodies[ident] = body

        # every event recorded since the subscriptions reached exactly the organizations that may see it
        db.session.remove()
        events = db.session.scalars(select(Event).where(Event.created_at >= t0)).all()
        assert len(events) == len(received), "an event was not delivered, or something else was"
        for ident, who in received.items():
            body = bodies[ident]
            assert who == expected_receivers(body, keys_by_id), (body["type"], body["data"], who)
        assert {b["type"] for b in bodies.values()} == set(KINDS), "every event type in DESIGN 8 is delivered"

        # spot checks stated by hand
        by_type = defaultdict(list)
        for ident, who in received.items():
            by_type[bodies[ident]["type"]].append(who)
        assert {"sakura", "tokio", "fsa"} in by_type["policy.bound"]
        assert by_type["insurer.approved"] == [{"nova", "fsa"}]
        assert by_type["insurer.suspended"] == [{"harbour", "fsa"}]
        assert by_type["insurer.rating_changed"] == [{"tokio", "fsa"}]  # the JP regulator's rating: JP's event
        assert {"victoria", "sfc"} in by_type["obligation.computed"]
        assert all("fsa" in who and "sakura" in who for who in by_type["reserve.shortfall"] + by_type[
            "certificate.revoked"] + by_type["certificate.issued"] if "victoria" not in who)
        assert not rx.at("/rhein") and {"rhein", "victoria"}.isdisjoint(set().union(*by_type["certificate.issued"]))
        # the body: type, an RFC 3339 timestamp, the event's payload as data
        some = bodies[next(iter(received))]
        assert set(some) == {"type", "timestamp", "data"} and some["timestamp"].endswith("Z")
        r = rx.at("/fsa")[0]
        assert r.headers["webhook-id"] and r.headers["webhook-timestamp"].isdigit()
        assert r.headers["webhook-signature"].startswith("v1,")
        assert all(d.status == "succeeded" and d.attempts == 1 for d in deliveries())


def test_failures_are_retried_with_backoff_then_succeed(demo):
    w = World(demo)
    with Receiver() as rx:
        hook = subscribe(w, "sakura", rx.url("/flaky"), ["policy.bound"])
        rx.answer("/flaky", 500, 503)
        register_policy(w, "WH-RETRY")  # first attempt right after the commit: 500
        [d] = deliveries()
        assert (d.status, d.attempts, d.last_response_status) == ("pending", 1, 500)
        assert d.last_error.startswith("HTTP 500")
        assert wait_of(d) == timedelta(seconds=5)
        assert sender.send_due()["claimed"] == 0  # not due yet

        make_due(d.id)
        assert sender.send_due() == {"claimed": 1, "succeeded": 0, "retrying": 1, "failed": 0, "superseded": 0}
        [d] = deliveries()
        assert (d.attempts, d.last_response_status) == (2, 503)
        assert wait_of(d) == timedelta(minutes=5)

        make_due(d.id)
        assert sender.send_due()["succeeded"] == 1
        [d] = deliveries()
        assert (d.status, d.attempts, d.last_response_status, d.last_error) == ("succeeded", 3, 200, None)
        assert d.next_attempt_at is None and d.completed_at is not None

        got = rx.at("/flaky")
        assert len(got) == 3 and len({g.headers["webhook-id"] for g in got}) == 1 and len({g.body for g in got}) == 1
        assert len(rx.verified("/flaky", hook["secret"])) == 3


def test_the_schedule_spans_more_than_a_day_then_fails_and_redelivery_starts_again(demo):
    w = World(demo)
    with Receiver() as rx:
        hook = subscribe(w, "sakura", rx.url("/down"), ["policy.bound"])
        rx.answer("/down", *[500] * 20)
        register_policy(w, "WH-DOWN")
        waits = []
        for _ in range(sender.MAX_ATTEMPTS - 1):
            [d] = deliveries()
            waits.append(wait_of(d))
            make_due(d.id)
            sender.send_due()
        [d] = deliveries()
        assert (d.status, d.attempts, d.next_attempt_at) == ("failed", sender.MAX_ATTEMPTS, None)
        assert waits == list(sender.RETRY_DELAYS) and sum(waits, timedelta()) > timedelta(hours=24)
        assert len(rx.at("/down")) == sender.MAX_ATTEMPTS
        make_due(d.id)
        assert sender.send_due()["claimed"] == 0  # failed stays failed

        # redelivery: due now, a fresh schedule; the receiver is back
        rx.reset("/down")
        r = w.call("post", f"{R}/webhooks/{hook['id']}/deliveries/{d.id}/redeliver", "sakura")
        assert r.status_code == 202
        [d] = deliveries()
        assert (d.status, d.attempts, d.last_response_status) == ("succeeded", sender.MAX_ATTEMPTS + 1, 200)
        assert len(rx.verified("/down", hook["secret"])) == sender.MAX_ATTEMPTS + 1


def test_redirects_are_not_followed(demo):
    w = World(demo)
    with Receiver() as rx:
        subscribe(w, "sakura", rx.url("/moved"), ["policy.bound"])
        rx.answer("/moved", 302)
        register_policy(w, "WH-302")
        [d] = deliveries()
        assert d.status == "pending" and d.last_response_status == 302 and d.last_error.startswith("HTTP 302")
        assert [r.path for r in rx.requests] == ["/moved"]


def test_a_worker_killed_mid_send_leaves_the_delivery_due_after_its_lease(demo):
    w = World(demo)
    with Receiver() as rx:
        hook = subscribe(w, "sakura", rx.url("/lease"), ["policy.bound"])
        demo.config["WEBHOOKS_SEND"] = False  # record the delivery, send nothing yet
        register_policy(w, "WH-LEASE")
        demo.config["WEBHOOKS_SEND"] = True
        claimed, [job] = sender._claim(10)  # claimed and committed ... and the worker dies here
        assert claimed == 1 and job.attempt == 1
        [d] = deliveries()
        assert d.status == "pending" and d.next_attempt_at > utcnow() + sender.LEASE - timedelta(seconds=30)
        assert sender.send_due()["claimed"] == 0  # leased: nobody else takes it
        make_due(d.id)  # the lease runs out
        assert sender.send_due()["succeeded"] == 1
        [d] = deliveries()
        assert (d.status, d.attempts) == ("succeeded", 2)
        # the dead worker's late outcome changes nothing
        from collections import Counter

        totals = Counter()
        sender._record([sender.Outcome(job, 500, "HTTP 500")], totals)
        assert totals == {"superseded": 1}
        assert deliveries()[0].status == "succeeded"
        assert len(rx.verified("/lease", hook["secret"])) == 1


def test_a_rerun_relay_does_not_duplicate_deliveries(demo):
    from marketplace.events.models import Delivery
    from marketplace.webhooks import fanout

    w = World(demo)
    with Receiver() as rx:
        subscribe(w, "sakura", rx.url("/once"), ["policy.bound"])
        register_policy(w, "WH-ONCE")
        ev = db.session.scalar(select(Event).filter_by(kind="policy.bound").order_by(Event.created_at.desc()))
        from marketplace.events.kinds import from_row

        with unit_of_work():
            assert fanout.handle(from_row(ev.kind, ev.payload), ev) == 0
        db.session.execute(update(Delivery).where(Delivery.event_id == ev.id).values(status="pending",
                                                                                     next_attempt_at=utcnow()))
        db.session.commit()
        drain()
        assert len(deliveries()) == 1 and len(rx.at("/once")) == 1


def test_send_time_guard_and_pinned_addresses(demo):
    w = World(demo)
    with Receiver() as rx:
        # created while private targets are allowed (development), then the deployment forbids them
        hook = subscribe(w, "sakura", rx.url("/guard"), ["policy.bound"])
        by_name = subscribe(w, "sakura", f"http://localhost:{rx.port}/by-name", ["policy.bound"])
        demo.config["WEBHOOKS_ALLOW_PRIVATE"] = False
        register_policy(w, "WH-GUARD")
        assert rx.requests == []
        for d in deliveries():
            assert d.status == "pending" and d.last_response_status is None
            assert d.last_error.startswith("refused: url reaches a loopback address"), d.last_error
        demo.config["WEBHOOKS_ALLOW_PRIVATE"] = True
        for d in deliveries():
            make_due(d.id)
        assert sender.send_due()["succeeded"] == 2
        assert len(rx.verified("/guard", hook["secret"])) == 1
        [r] = rx.at("/by-name")  # connected to a checked address of the name, asked for the name
        assert r.headers["host"] == f"localhost:{rx.port}"
        assert len(rx.verified("/by-name", by_name["secret"])) == 1


def test_tls_certificates_are_verified(demo, tmp_path):
    """An HTTPS receiver with a certificate nobody trusts: refused by the sender, nothing is posted."""
    import ssl

    from tests.webhook_receiver import self_signed

    w = World(demo)
    with Receiver() as rx:
        cert, key = self_signed(tmp_path, "localhost")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        rx.server.socket = ctx.wrap_socket(rx.server.socket, server_side=True)
        subscribe(w, "sakura", f"https://localhost:{rx.port}/tls", ["policy.bound"])
        register_policy(w, "WH-TLS")
        [d] = deliveries()
        assert d.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in d.last_error, d.last_error
        assert rx.requests == []


def test_concurrent_senders_send_each_delivery_once(demo):
    w = World(demo)
    with Receiver() as rx:
        subscribe(w, "sakura", rx.url("/many"), ["policy.bound"])
        demo.config["WEBHOOKS_SEND"] = False
        for i in range(30):
            register_policy(w, f"WH-MANY-{i}")
        demo.config["WEBHOOKS_SEND"] = True
        assert len(deliveries(status="pending")) == 30
        db.session.remove()
        errors = []

        def worker():
            try:
                with demo.app_context():
                    sender.send_due(limit=40)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        drain()
        ids = [r.headers["webhook-id"] for r in rx.at("/many")]
        assert len(ids) == 30 and len(set(ids)) == 30
        assert {d.status for d in deliveries()} == {"succeeded"} and {d.attempts for d in deliveries()} == {1}


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_is_success(demo, status):
    w = World(demo)
    with Receiver() as rx:
        subscribe(w, "sakura", rx.url("/two"), ["policy.bound"])
        rx.answer("/two", status)
        register_policy(w, f"WH-{status}")
        [d] = deliveries()
        assert d.status == "succeeded" and d.last_response_status == status


def test_a_relay_transaction_reads_a_jurisdictions_regulators_once_and_the_next_sees_a_new_one(demo):
    """fanout keeps a jurisdiction's regulators for one transaction (a relay batch); a regulator admitted
    meanwhile is among the recipients from the next transaction on."""
    from marketplace.registry.models import Organization
    from marketplace.webhooks import fanout
    from tests.sql_statements import statements

    with statements() as seen:
        first, again = fanout._regulators_of("JP"), fanout._regulators_of("JP")
    assert first == again and len(first) >= 1
    assert len([s for s in seen if s.startswith("SELECT organizations.id")]) == 1
    new = Organization(kind="regulator", name="Second JP supervisor", jurisdiction="JP")
    db.session.add(new)
    db.session.commit()
    assert fanout._regulators_of("JP") == first | {new.id}

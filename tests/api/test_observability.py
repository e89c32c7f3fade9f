"""GET /metrics (labels by route template, counts, the database-backed gauges, the token) and the log lines
(JSON, request ids, access lines, and no secret in them even at DEBUG)."""

from __future__ import annotations

import base64
import io
import json
import logging
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from marketplace.db import utcnow
from marketplace.events.models import Delivery, Event
from marketplace.extensions import db
from marketplace.observability import logs
from marketplace.tlog import sequencer
from marketplace.tlog import service as tlog
from marketplace.tlog.models import QueuedEntry
from marketplace.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.conftest import make_app

H = "marketplace_http_request_duration_seconds"


def scrape(client, **headers) -> dict:
    """{(name, frozenset(labels)): value} of one scrape."""
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.data
    assert r.mimetype == "text/plain" and r.headers["Cache-Control"] == "no-store"
    out = {}
    for family in text_string_to_metric_families(r.get_data(as_text=True)):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_request_latency_is_labelled_by_route_template_and_counts(world):
    policy = "0f0e0d0c-0b0a-4000-8000-123456789abc"
    before = scrape(world.client)
    labels = {"route": "/api/v1/policies/<policy_id>", "method": "GET", "status": "4xx"}
    for _ in range(3):
        assert world.client.get(f"/api/v1/policies/{policy}").status_code == 401  # no token
    world.client.get("/no/such/page-4242")
    world.client.get("/healthz")
    text = world.client.get("/metrics").get_data(as_text=True)
    after = scrape(world.client)
    assert value(after, H + "_count", **labels) - value(before, H + "_count", **labels) == 3
    assert value(after, H + "_sum", **labels) > value(before, H + "_sum", **labels)
    assert value(after, H + "_bucket", **labels, le="+Inf") - value(before, H + "_bucket", **labels, le="+Inf") == 3
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "4xx"}
    assert value(after, H + "_count", **unmatched) - value(before, H + "_count", **unmatched) == 1
    ok = {"route": "/healthz", "method": "GET", "status": "2xx"}
    assert value(after, H + "_count", **ok) - value(before, H + "_count", **ok) == 1
    assert policy not in text and "page-4242" not in text  # raw paths and ids are never labels
    routes = {dict(k[1]).get("route") for k in after if k[0] == H + "_count"}
    assert all(r == "<unmatched>" or r.startswith("/") for r in routes)


def test_odd_methods_fold_into_one_label(world):
    before = scrape(world.client)
    world.client.open("/healthz", method="BREW")
    after = scrape(world.client)
    odd = {"route": "<unmatched>", "method": "other", "status": "4xx"}  # 405: no rule matched
    assert value(after, H + "_count", **odd) - value(before, H + "_count", **odd) == 1


def _event(age: timedelta, **kw) -> Event:
    e = Event(kind="policy.cancelled", subject_id="s-1", jurisdiction="JP", audience=[], payload={}, actor="test",
              created_at=utcnow() - age, **kw)
    db.session.add(e)
    db.session.flush()
    return e


def test_outbox_webhook_and_queue_gauges_reflect_the_database(world):
    db.session.execute(Delivery.__table__.update().values(status="done"))  # what the demo left pending
    db.session.execute(WebhookDelivery.__table__.delete())
    old = _event(timedelta(minutes=5))
    new = _event(timedelta(seconds=1))
    db.session.add_all([
        Delivery(event_id=old.id, subscriber="revocation", status="pending", created_at=utcnow() - timedelta(minutes=5),
                 next_attempt_at=utcnow() + timedelta(minutes=1)),  # backing off: pending, not due
        Delivery(event_id=new.id, subscriber="webhooks", status="pending", created_at=utcnow() - timedelta(seconds=1)),
        Delivery(event_id=new.id, subscriber="revocation", status="done"),
        Delivery(event_id=new.id, subscriber="adequacy", status="failed"),
    ])
    sub = WebhookSubscription(org_id=world.org("sakura").id, url="https://example.org/hook", events=["policy.bound"],
                              secret_wrapped=b"wrapped", created_by="test")
    db.session.add(sub)
    db.session.flush()
    db.session.add_all([
        WebhookDelivery(subscription_id=sub.id, event_id=old.id, event_type="policy.cancelled", status="pending",
                        created_at=utcnow() - timedelta(minutes=2)),
        WebhookDelivery(subscription_id=sub.id, event_id=new.id, event_type="policy.cancelled", status="failed"),
    ])
    db.session.commit()
    m = scrape(world.client)
    assert value(m, "marketplace_outbox_pending") == 2
    assert value(m, "marketplace_outbox_due") == 1
    assert 290 <= value(m, "marketplace_outbox_lag_seconds") < 600
    assert value(m, "marketplace_outbox_deliveries", subscriber="revocation", status="pending") == 1
    assert value(m, "marketplace_outbox_deliveries", subscriber="revocation", status="done") >= 1
    assert value(m, "marketplace_outbox_deliveries", subscriber="adequacy", status="failed") == 1
    assert value(m, "marketplace_webhook_deliveries", status="pending") == 1
    assert value(m, "marketplace_webhook_deliveries", status="failed") == 1
    assert ("marketplace_webhook_deliveries", frozenset({("status", "succeeded")})) in m  # every outcome, even 0
    assert 110 <= value(m, "marketplace_webhook_lag_seconds") < 600
    assert value(m, "marketplace_queue_depth") == 0  # in-process queue
    assert value(m, "marketplace_metrics_source_up", source="database") == 1
    assert value(m, "marketplace_metrics_source_up", source="queue") == 1

    db.session.execute(Delivery.__table__.update().values(status="done"))
    db.session.commit()
    m = scrape(world.client)
    assert value(m, "marketplace_outbox_pending") == 0 and value(m, "marketplace_outbox_lag_seconds") == 0


def test_log_size_and_sequencing_delay(world):
    m = scrape(world.client)
    size = tlog.size()
    assert size >= 1  # the demo issues a certificate
    assert value(m, "marketplace_tlog_size") == size
    assert value(m, "marketplace_tlog_checkpoint_size") == tlog.latest().tree_size == size
    assert value(m, "marketplace_tlog_sequencing_delay_seconds") == 0
    assert value(m, "marketplace_tlog_queued") == 0
    sequencer.queue("issuance", b"not yet sequenced")  # no unit of work: no nudge, it stays queued
    db.session.execute(update(QueuedEntry).values(queued_at=utcnow() - timedelta(seconds=30)))
    db.session.commit()
    m = scrape(world.client)
    assert value(m, "marketplace_tlog_size") == size and value(m, "marketplace_tlog_checkpoint_size") == size
    assert value(m, "marketplace_tlog_queued") == 1
    assert 30 <= value(m, "marketplace_tlog_sequencing_delay_seconds") < 300
    assert sequencer.integrate() == {"integrated": 1}
    m = scrape(world.client)
    assert value(m, "marketplace_tlog_size") == value(m, "marketplace_tlog_checkpoint_size") == size + 1
    assert value(m, "marketplace_tlog_queued") == 0 and value(m, "marketplace_tlog_sequencing_delay_seconds") == 0


def test_a_database_that_does_not_answer_is_a_gauge_not_a_failed_scrape(world, monkeypatch):
    from marketplace.observability.metrics import StateCollector

    def broken(self, now):
        raise RuntimeError("database down")

    monkeypatch.setattr(StateCollector, "_webhooks", broken)
    m = scrape(world.client)
    assert value(m, "marketplace_metrics_source_up", source="database") == 0
    assert value(m, "marketplace_metrics_source_up", source="queue") == 1


def test_token_when_configured_and_never_oauth_or_rate_limited(world):
    for _ in range(30):  # the OAuth rate limits are 20/minute per client: /metrics counts against nothing
        assert world.client.get("/metrics").status_code == 200
    world.app.config["METRICS_TOKEN"] = "scrape-token-7f3a"
    r = world.client.get("/metrics")
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "scrape-token-7f3a" not in r.get_data(as_text=True)
    assert world.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    for odd in ("Bearer \ud800", "Bearer \x00", "Bearer é" * 50, "Bearer"):  # any header: a 401, never a 500
        assert world.client.get("/metrics", headers={"Authorization": odd}).status_code == 401
    assert world.client.get("/metrics", headers=world.as_("fsa")).status_code == 401  # an OAuth token is not it
    scrape(world.client, Authorization="Bearer scrape-token-7f3a")


def test_openmetrics_on_request(world):
    r = world.client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert r.status_code == 200 and r.mimetype == "application/openmetrics-text"
    assert r.get_data(as_text=True).rstrip().endswith("# EOF")


def test_metrics_can_be_turned_off(sqlite_url, tmp_path):
    app = make_app(sqlite_url, tmp_path, METRICS_ENABLED=False)
    assert app.test_client().get("/metrics").status_code == 404


# --- logs -------------------------------------------------------------------------------------------------


@pytest.fixture
def captured():
    """Every logger's records, formatted as JSON lines into a buffer, at DEBUG (the most that could leak)."""
    root, engine = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    levels = root.level, engine.level
    buf = io.StringIO()
    handler = logs.configure("json", "DEBUG", stream=buf)
    try:
        yield buf
    finally:
        logs.unconfigure(handler)
        root.setLevel(levels[0])
        engine.setLevel(levels[1])


def lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]  # every line is one JSON object


def test_json_lines_with_request_ids_and_an_access_line(world, captured):
    r = world.client.get("/api/v1/organizations", headers={**world.as_("fsa"), "X-Request-ID": "req-abc-123"})
    assert r.status_code == 200 and r.headers["X-Request-ID"] == "req-abc-123"
    anon = world.client.get("/api/v1/policies/some-id")
    out = lines(captured)
    assert out and all({"time", "level", "logger", "message"} <= set(x) for x in out)
    assert all(x["time"].endswith("Z") and "T" in x["time"] for x in out)
    access = [x for x in out if x["logger"] == "marketplace.access"]
    mine = [x for x in access if x.get("request_id") == "req-abc-123"]
    assert len(mine) == 1
    a = mine[0]
    assert (a["method"], a["path"], a["route"], a["status"], a["level"]) == \
        ("GET", "/api/v1/organizations", "/api/v1/organizations", 200, "info")
    assert isinstance(a["duration_ms"], float) and a["duration_ms"] >= 0
    other = [x for x in access if x["path"] == "/api/v1/policies/some-id"]
    assert other[0]["request_id"] == anon.headers["X-Request-ID"] != "req-abc-123"
    assert other[0]["status"] == 401 and other[0]["route"] == "/api/v1/policies/<policy_id>"


def test_unhandled_error_is_logged_with_its_request_id(world, captured):
    @world.app.get("/boom-for-test")
    def boom():
        raise RuntimeError("kaput")

    world.app.testing = False  # answer 500 instead of raising into the test
    try:
        r = world.client.get("/boom-for-test", headers={"X-Request-ID": "boom-1"})
    finally:
        world.app.testing = True
    assert r.status_code == 500
    errors = [x for x in lines(captured) if x["level"] == "error"]
    assert errors and errors[0]["request_id"] == "boom-1" and "RuntimeError: kaput" in errors[0]["exc"]


def test_no_secret_reaches_the_logs(world, captured):
    # a token request with client_secret_basic, then one with the secret in the form body
    cid, secret = world.credentials("fsa")
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    r = world.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": f"Basic {basic}"})
    token = r.json["access_token"]
    r2 = world.client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                 "client_secret": secret})
    token2 = r2.json["access_token"]
    bad = world.client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                  "client_secret": secret + "-wrong"})
    assert bad.status_code == 401
    bearer = {"Authorization": f"Bearer {token}"}
    # client creation through the API (the new secret is in the answer) and a webhook (its whsec_ secret)
    org = world.org("sakura").id
    created = world.client.post(f"/api/v1/organizations/{org}/clients", json={"name": "log-test"}, headers=bearer)
    assert created.status_code == 201, created.json
    hook = world.call("post", "/api/v1/webhooks", "sakura", json={"url": "http://127.0.0.1:9/hook",
                                                                   "events": ["policy.bound"]})
    assert hook.status_code == 201, hook.json
    revoked = world.client.post("/oauth/revoke", data={"token": token2, "client_id": cid, "client_secret": secret})
    assert revoked.status_code == 200
    # and a careless line, to prove the safety net
    logging.getLogger("marketplace.test").warning("retrying with headers %s and form %s",
                                                  {"Authorization": f"Bearer {token}"},
                                                  {"client_secret": secret, "password": "hunter2-pw"})
    text = captured.getvalue()
    # authlib logs the issued token at DEBUG ("Issue token {'access_token': ...}"): the redaction catches it
    assert any(x["message"].startswith("Issue token") for x in lines(captured))
    for s in (secret, token, token2, basic, created.json["client_secret"], hook.json["secret"],
              hook.json["secret"].removeprefix("whsec_"), "hunter2-pw"):
        assert s not in text, s
    assert "[redacted]" in text


@pytest.mark.parametrize(("line", "kept"), [
    ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer [redacted]"),
    ("{'Authorization': 'Basic dXNlcjpwYXNz'}", "{'Authorization': 'Basic [redacted]'}"),
    ("client_secret=s3cr3t&grant_type=client_credentials", "client_secret=[redacted]&grant_type=client_credentials"),
    ('{"password": "pw", "email": "a@b.c"}', '{"password": "[redacted]", "email": "a@b.c"}'),
    ("access_token: tok123", "access_token: [redacted]"),
    ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "secret whsec_[redacted]"),
    ("postgresql://mp:pa55@db:5432/mp", "postgresql://mp:[redacted]@db:5432/mp"),
    ("GET /api/v1/policies/abc 200", "GET /api/v1/policies/abc 200"),
])
def test_redaction_patterns(line, kept):
    assert logs.redact(line) == kept


def test_extras_named_like_secrets_and_text_lines(world):
    buf = io.StringIO()
    record = logging.LogRecord("marketplace.x", logging.INFO, __file__, 1, "created %(name)s with %(client_secret)s",
                               ({"name": "c1", "client_secret": "raw-secret"},), None)
    record.webhook_secret = "whsec_abc"
    record.headers = {"Authorization": "Bearer xyz", "Accept": "*/*"}
    out = json.loads(logs.JsonFormatter().format(record))
    assert out["message"] == "created c1 with [redacted]"
    assert out["webhook_secret"] == "[redacted]" and out["headers"] == {"Authorization": "[redacted]", "Accept": "*/*"}
    with world.app.test_request_context("/x", headers={"X-Request-ID": "txt-1"}):
        handler = logs.configure("text", "INFO", stream=buf)
        try:
            logging.getLogger("marketplace.x").info("password=hunter2 sent")
        finally:
            logs.unconfigure(handler)
            logging.getLogger().setLevel(logging.WARNING)
    assert "[txt-1]" in buf.getvalue() and "hunter2" not in buf.getvalue() and "marketplace.x" in buf.getvalue()


def test_create_app_configures_logging_once_and_hides_sql_parameters(sqlite_url, tmp_path):
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        app = None
        for _ in range(2):
            app = make_app(sqlite_url, tmp_path, TESTING=False, LOG_FORMAT="json")
        ours = [h for h in root.handlers if isinstance(h.formatter, logs.JsonFormatter)]
        assert len(ours) == 1
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
        assert logging.getLogger("sqlalchemy.engine").level == logging.WARNING
    finally:
        for h in root.handlers:
            if h not in before:
                root.removeHandler(h)
        root.setLevel(level)
    testing = make_app(sqlite_url, tmp_path)
    assert testing.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    assert root.handlers == before  # testing apps leave logging to pytest

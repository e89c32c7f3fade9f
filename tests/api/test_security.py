"""Hardening, black-box over HTTP: secrets shown once (never replayed), OAuth edge cases (RFC 6749/7009),
rate limits with 429 + Retry-After, security headers, and approval before an insurer signs."""

import base64
import os
import re
import statistics
import time

import pytest
from sqlalchemy import select

from marketplace.config import ConfigError
from marketplace.crypto import jws
from marketplace.crypto.keys import KeyPair
from marketplace.extensions import db
from marketplace.web.idempotency import IdempotencyKey
from tests.api.test_attestations_api import new_policy
from tests.conftest import make_app

R = "/api/v1"


def _token(world, cid, secret, **extra):
    return world.client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                   "client_secret": secret, **extra})


def _basic(world, cid, secret):
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    return world.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                             headers={"Authorization": f"Basic {basic}"})


# 1. secrets are shown once: an Idempotency-Key replay does not carry them, and says so


def test_client_secret_is_not_kept_for_idempotent_replays(world):
    url, key = f"{R}/organizations/{world.org('sakura').id}/clients", {"Idempotency-Key": "new-client"}
    first = world.call("post", url, "fsa", headers=key, json={"name": "ops"})
    assert first.status_code == 201 and first.json["client_secret"]
    assert first.headers["Cache-Control"] == "no-store"
    secret = first.json["client_secret"]
    stored = db.session.scalars(select(IdempotencyKey.body)).all()
    assert stored and not any(secret.encode() in (b or b"") for b in stored)

    again = world.call("post", url, "fsa", headers=key, json={"name": "ops"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert "client_secret" not in again.json and secret not in again.get_data(as_text=True)
    assert again.json["client_id"] == first.json["client_id"]
    note = again.headers["Secret-Redacted"]
    assert note.startswith("client_secret;") and "shown once" in note and "create a new client" in note
    assert _token(world, first.json["client_id"], secret).status_code == 200  # the secret itself still works


def test_token_answers_are_not_cached(world):
    cid, secret = world.credentials("sakura")
    r = _token(world, cid, secret)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert "no-store" not in world.client.get("/.well-known/jwks.json").headers["Cache-Control"]  # only those


# 3. OAuth edge cases


def test_a_scope_the_client_does_not_hold_is_invalid_scope(world):
    cid, secret = world.credentials("sakura", ["reports:read", "obligations:read"])
    for scope in ("registry:write", "reports:read certificates:write", "no-such-scope"):
        r = _token(world, cid, secret, scope=scope)
        assert r.status_code == 400 and r.json["error"] == "invalid_scope", (scope, r.json)
        assert "access_token" not in r.json
    r = _token(world, cid, secret, scope="reports:read")
    assert r.status_code == 200 and r.json["scope"] == "reports:read"
    r = _token(world, cid, secret)
    assert r.status_code == 200 and set(r.json["scope"].split()) == {"reports:read", "obligations:read"}


def _answer(r):
    per_answer = ("X-Request-ID", "Content-Security-Policy")  # a request id and a CSP nonce each
    return r.status_code, r.get_data(), {k: v for k, v in r.headers.items() if k not in per_answer}


def test_unknown_client_and_wrong_secret_answer_identically(world):
    cid, _ = world.credentials("sakura")
    revoked, rsecret = world.credentials("sakura")
    assert world.call("post", f"{R}/clients/{revoked}/revoke", "fsa").status_code == 200
    for send in (_token, _basic):
        wrong, unknown = send(world, cid, "wrong-secret"), send(world, "mpc_" + "0" * 24, "wrong-secret")
        assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
        assert _answer(wrong) == _answer(unknown) == _answer(send(world, revoked, rsecret))


def test_unknown_client_costs_an_argon2_check_like_a_wrong_secret(world):
    """No timing oracle for which client ids exist: both paths run one argon2 verification."""
    world.app.config["ARGON2_FAST"] = False  # real parameters, so the work is measurable
    cid, _ = world.credentials("sakura")

    def median(client_id):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            assert _token(world, client_id, "wrong").status_code == 401
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    wrong, unknown = median(cid), median("mpc_doesnotexist")
    assert wrong > 0.01 and unknown > wrong / 2, (wrong, unknown)


def _revoke(world, token, cid, secret):
    return world.client.post("/oauth/revoke", data={"token": token, "client_id": cid, "client_secret": secret})


def test_revoking_another_clients_token_answers_200_and_revokes_nothing(world):
    a_id, a_secret = world.credentials("sakura")
    b_id, b_secret = world.credentials("sakura")  # same organization, another client
    token = _token(world, a_id, a_secret).json["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    r = _revoke(world, token, b_id, b_secret)
    assert r.status_code == 200 and r.json == {} and r.headers["Cache-Control"] == "no-store"
    assert world.client.get(f"{R}/organizations", headers=h).status_code == 200
    assert _revoke(world, token, b_id, "wrong").status_code == 401
    assert world.client.get(f"{R}/organizations", headers=h).status_code == 200
    assert _revoke(world, token, a_id, a_secret).status_code == 200
    assert world.client.get(f"{R}/organizations", headers=h).status_code == 401


# 2. rate limits (in-process here; shared through Redis in tests/integration/test_rate_limits.py)


def _limited(r):
    assert r.status_code == 429 and r.mimetype == "application/problem+json"
    assert r.json["status"] == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    return True


def test_token_endpoint_is_limited_per_client_id_and_per_address(world):
    world.app.config.update(RATELIMIT_OAUTH_PER_CLIENT="3/minute", RATELIMIT_OAUTH_PER_ADDRESS="7/minute")
    cid, secret = world.credentials("sakura")
    assert [_token(world, cid, "wrong").status_code for _ in range(3)] == [401] * 3
    assert _limited(_token(world, cid, secret))  # even the right secret: no more checks for this id
    assert _limited(_basic(world, cid, secret))
    other, osecret = world.credentials("rhein")
    assert _token(world, other, osecret).status_code == 200  # another client id, same address
    assert _token(world, "mpc_a", "x").status_code == 401
    assert _limited(_token(world, "mpc_b", "x"))  # the address has used its 7 (refused ones count too)
    assert _limited(world.client.post("/oauth/revoke", data={"token": "t", "client_id": other,
                                                             "client_secret": osecret}))
    world.app.config["RATELIMIT_ENABLED"] = False
    assert _token(world, cid, secret).status_code == 200


def test_public_verification_is_limited_per_address(world):
    world.app.config["RATELIMIT_VERIFY_PER_ADDRESS"] = "3/minute"
    cert = world.call("get", f"{R}/certificates", "sakura").json["items"][0]["id"]
    answers = [world.client.get(f"{R}/certificates/{cert}/verification").status_code,
               world.client.post(f"{R}/verify", json={"certificate": "a.b.c"}).status_code,
               world.client.get(f"{R}/certificates/{cert}/verification").status_code]
    assert answers == [200, 200, 200]
    assert _limited(world.client.post(f"{R}/verify", json={"certificate": "a.b.c"}))
    assert _limited(world.client.get(f"{R}/certificates/{cert}/verification"))
    other = world.client.get(f"{R}/certificates/{cert}/verification", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_forwarded_addresses_count_only_behind_a_configured_proxy(sqlite_url, tmp_path):
    def answers(app):
        client = app.test_client()
        return [client.post(f"{R}/verify", json={"certificate": "a.b.c"},
                            headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)]

    spoofable = make_app(sqlite_url, tmp_path / "a", RATELIMIT_VERIFY_PER_ADDRESS="1/minute")
    assert answers(spoofable) == [200, 429, 429]  # a client cannot pick its address
    proxied = make_app(sqlite_url, tmp_path / "b", RATELIMIT_VERIFY_PER_ADDRESS="1/minute", TRUSTED_PROXIES=1)
    assert answers(proxied) == [200, 200, 200]  # each client behind the proxy has its own count


# 4. headers


def test_nosniff_everywhere_and_a_csp(world):
    for r in (world.client.get("/healthz"), world.client.get(f"{R}/organizations"), world.client.get("/nowhere"),
              _token(world, "x", "y"), world.client.get("/api/openapi.json"),
              world.call("get", f"{R}/organizations", "fsa")):
        assert r.headers["X-Content-Type-Options"] == "nosniff", r.request.path
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.status_code < 300 or r.status_code >= 400  # never an HTTPS redirect in development
    assert "Strict-Transport-Security" not in world.client.get("/healthz").headers


def test_swagger_ui_runs_under_the_csp(world):
    r = world.client.get("/api/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    csp = r.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    html = r.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)  # every inline script may run
    for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html):
        assert src.startswith("/api/docs/assets/")  # 'self': served locally
        with world.client.get(src) as asset:
            assert asset.status_code == 200
    assert world.client.get("/api/docs").headers["Content-Security-Policy"] != csp  # a nonce per answer


# 6. an insurer nobody approves cannot register keys or attest


def test_pending_insurer_cannot_register_keys(world):
    for path, body in (("/insurer-keys", {"jwk": KeyPair.generate().public_jwk}), ("/insurer-keys/custodial", None)):
        r = world.call("post", f"{R}{path}", "nova", json=body)
        assert r.status_code == 409 and r.mimetype == "application/problem+json"
        assert "not approved by any regulator (pending in JP)" in r.json["detail"], r.json


def test_suspended_everywhere_insurer_cannot_attest_or_register_keys(world):
    key = KeyPair.generate()
    assert world.call("post", f"{R}/insurer-keys", "harbour", json={"jwk": key.public_jwk}).status_code == 201
    pid = new_policy(world)
    payload = world.call("get", f"{R}/policies/{pid}/attestation-payload", "harbour").json
    harbour = world.org("harbour").id
    for regulator in ("fsa", "sfc"):
        r = world.call("post", f"{R}/insurers/{harbour}/suspend", regulator, json={"reason": "capital"})
        assert r.status_code == 200
    refusals = [
        world.call("post", f"{R}/policies/{pid}/attestations", "harbour",
                   json={"jws": jws.sign(payload, key, "attestation+jwt")}),
        world.call("post", f"{R}/policies/{pid}/attestations/custodial", "harbour"),
        world.call("post", f"{R}/insurer-keys", "harbour", json={"jwk": KeyPair.generate().public_jwk}),
        world.call("post", f"{R}/insurer-keys/custodial", "harbour"),
    ]
    for r in refusals:
        assert r.status_code == 409 and "not approved by any regulator" in r.json["detail"], r.json
        assert "suspended in HK" in r.json["detail"] and "suspended in JP" in r.json["detail"]
    assert world.call("post", f"{R}/insurer-keys/{key.kid}/retire", "harbour").status_code == 200
    world.call("post", f"{R}/insurers/{harbour}/reinstate", "fsa", json={})
    r = world.call("post", f"{R}/policies/{pid}/attestations/custodial", "harbour")
    assert r.status_code == 201


# 5. the SQLite file is private like the key file


def test_sqlite_database_is_created_0600_and_an_existing_one_tightened(tmp_path):
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh" / "m.db"
        fresh.parent.mkdir()
        app = make_app(f"sqlite:///{fresh}", tmp_path / "i1")
        with app.app_context():
            db.create_all()
            db.engine.dispose()
        assert fresh.stat().st_mode & 0o777 == 0o600
        relative = make_app("sqlite:///rel.db", tmp_path / "i2")  # resolved under instance/, like Flask-SQLAlchemy
        assert (tmp_path / "i2" / "rel.db").stat().st_mode & 0o777 == 0o600 and relative
        loose = tmp_path / "loose.db"
        loose.write_bytes(b"")
        loose.chmod(0o644)
        make_app(f"sqlite:///{loose}", tmp_path / "i3")
        assert loose.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_a_rate_that_does_not_parse_refuses_to_start(tmp_path, sqlite_url):
    with pytest.raises(ConfigError, match="RATELIMIT_VERIFY_PER_ADDRESS"):
        make_app(sqlite_url, tmp_path, RATELIMIT_VERIFY_PER_ADDRESS="lots")

"""Client credentials, token lifetime, revocation, scopes; secrets and tokens stored hashed."""

import time

from sqlalchemy import select

from marketplace.auth.models import OAuthClient, OAuthToken
from marketplace.extensions import db


def _token(world, cid, secret, **extra):
    return world.client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                   "client_secret": secret, **extra})


def test_token_with_client_secret_post_and_scope_narrowing(world):
    cid, secret = world.credentials("sakura")
    r = _token(world, cid, secret, scope="reports:read")
    assert r.status_code == 200 and r.json["token_type"] == "Bearer"
    assert r.json["scope"] == "reports:read" and r.json["expires_in"] == 3600
    h = {"Authorization": f"Bearer {r.json['access_token']}"}
    assert world.client.get("/api/v1/reports/volumes", headers=h).status_code == 200
    r2 = world.client.get("/api/v1/obligations", headers=h)
    assert r2.status_code == 403 and r2.json["required_scope"] == "obligations:read"


def test_bad_client_credentials(world):
    """RFC 6749 5.2: invalid_client; 401 with a challenge when Basic auth was tried, else 400."""
    import base64

    cid, _ = world.credentials("sakura")
    for r in (_token(world, cid, "wrong"), _token(world, "nobody", "x")):
        assert r.status_code in (400, 401) and r.json["error"] == "invalid_client"
    basic = base64.b64encode(f"{cid}:wrong".encode()).decode()
    r = world.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 401 and r.json["error"] == "invalid_client"
    r = world.client.post("/oauth/token", data={"grant_type": "password", "client_id": cid, "client_secret": "x"})
    assert r.status_code in (400, 401)


def test_secrets_and_tokens_are_stored_hashed(world):
    cid, secret = world.credentials("sakura")
    token = _token(world, cid, secret).json["access_token"]
    client = db.session.get(OAuthClient, cid)
    assert secret not in client.secret_hash and client.secret_hash.startswith("$argon2")
    hashes = db.session.scalars(select(OAuthToken.token_hash)).all()
    assert token not in hashes and len(hashes) == 1 and len(hashes[0]) == 64


def test_missing_invalid_expired_and_revoked_tokens_are_401(world):
    r = world.client.get("/api/v1/organizations")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.mimetype == "application/problem+json"
    r = world.client.get("/api/v1/organizations", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    r = world.client.get("/api/v1/organizations", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 401
    cid, secret = world.credentials("sakura")
    token = _token(world, cid, secret).json["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    assert world.client.get("/api/v1/organizations", headers=h).status_code == 200
    row = db.session.scalars(select(OAuthToken)).all()[-1]
    row.issued_at = int(time.time()) - 3601
    db.session.commit()
    assert world.client.get("/api/v1/organizations", headers=h).status_code == 401


def test_rfc7009_revocation(world):
    cid, secret = world.credentials("sakura")
    token = _token(world, cid, secret).json["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    r = world.client.post("/oauth/revoke", data={"token": token, "client_id": cid, "client_secret": secret})
    assert r.status_code == 200
    assert world.client.get("/api/v1/organizations", headers=h).status_code == 401
    # revoking an unknown token is not an error (RFC 7009 2.2)
    assert world.client.post("/oauth/revoke", data={"token": "zzz", "client_id": cid,
                                                    "client_secret": secret}).status_code == 200


def test_revoked_client_loses_tokens_and_cannot_get_new_ones(world):
    cid, secret = world.credentials("sakura")
    token = _token(world, cid, secret).json["access_token"]
    r = world.call("post", f"/api/v1/clients/{cid}/revoke", "fsa")
    assert r.status_code == 200 and r.json["revoked_at"]
    assert world.client.get("/api/v1/organizations", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _token(world, cid, secret).json["error"] == "invalid_client"


def test_wrong_scope_is_403_problem(world):
    r = world.call("post", "/api/v1/organizations", "sakura", json={"kind": "insurer", "name": "X"})
    assert r.status_code == 403 and r.json["required_scope"] == "registry:write"


def test_basic_credentials_that_are_not_utf8_are_invalid_client_not_500(world):
    """authlib decodes Basic credentials as UTF-8 and failed with a UnicodeDecodeError (500)."""
    import base64

    cid, secret = world.credentials("sakura")
    token = _token(world, cid, secret).json["access_token"]
    for raw in (b"\xff:\xff", f"{cid}:".encode() + b"\xff\xfe", b"\xc3(:x"):
        h = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        r = world.client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=h)
        assert r.status_code == 401 and r.json["error"] == "invalid_client", r.get_data()
        assert r.headers["WWW-Authenticate"].startswith("Basic")
        r = world.client.post("/oauth/revoke", data={"token": token}, headers=h)
        assert r.status_code == 401 and r.json["error"] == "invalid_client", r.get_data()
    h = {"Authorization": f"Bearer {token}"}
    assert world.client.get("/api/v1/organizations", headers=h).status_code == 200  # nothing was revoked

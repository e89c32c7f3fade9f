"""A bearer header for an organization's new API client, fetched through POST /oauth/token (client credentials)."""

from __future__ import annotations

import base64


def bearer_headers(app, org, scopes: list[str] | None = None) -> dict:
    from marketplace.auth import service as auth
    from marketplace.extensions import db

    client, secret = auth.create_client(org, "test", scopes, "test")
    db.session.commit()
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    r = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.json
    return {"Authorization": f"Bearer {r.json['access_token']}"}

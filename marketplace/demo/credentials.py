"""One API client per demo organization, written to instance/demo-credentials.json (mode 0600).

Secrets are stored only as hashes, so the file is the one place they exist. When the file is
present and every client in it is still valid, nothing changes; otherwise the demo clients are
replaced (the old ones revoked) and the file rewritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select

from ..auth import scopes as scope_rules
from ..auth import service as auth
from ..auth.models import OAuthClient
from ..auth.passwords import verify
from ..extensions import db
from ..registry.models import Organization

NAME = "demo"


def _still_valid(entries: list[dict]) -> bool:
    for e in entries:
        client = db.session.get(OAuthClient, e.get("client_id", ""))
        if client is None or client.revoked_at is not None or not verify(client.secret_hash, e.get("client_secret")):
            return False
        if client.scope.split() != list(scope_rules.BY_KIND.get(client.org.kind, ())):
            return False  # the org kind's scopes changed: issue fresh clients
    return True


def ensure(path: Path) -> Path:
    orgs = db.session.scalars(select(Organization).where(Organization.kind != "custodian")
                              .order_by(Organization.kind, Organization.name)).all()
    if path.exists():
        try:
            entries = json.loads(path.read_text())["clients"]
            if {e["organization"]["id"] for e in entries} == {o.id for o in orgs} and _still_valid(entries):
                return path
        except (ValueError, KeyError, TypeError):
            pass
    for old in db.session.scalars(select(OAuthClient).filter_by(name=NAME, revoked_at=None)):
        auth.revoke_client(old)
    entries = []
    for org in orgs:
        client, secret = auth.create_client(org, NAME, None, "demo-loader")
        entries.append({"organization": {"id": org.id, "name": org.name, "kind": org.kind,
                                         "jurisdiction": org.jurisdiction},
                        "client_id": client.client_id, "client_secret": secret, "scopes": client.scope.split()})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"token_url": "/oauth/token", "clients": entries}, f, indent=2)
    os.chmod(path, 0o600)
    return path

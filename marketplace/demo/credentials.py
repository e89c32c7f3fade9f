"""One API client and one portal user per demo organization, written to instance/demo-credentials.json
(mode 0600).

Secrets are stored only as hashes, so the file is the one place they exist. When the file is
present and every client in it is still valid, nothing changes; otherwise the demo clients are
replaced (the old ones revoked) and the file rewritten. A demo user whose password in the file still
works is left alone; one that is missing is created, and one whose password no longer matches (or is
disabled) gets a fresh password, so the file always signs in.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from sqlalchemy import select

from ..auth import scopes as scope_rules
from ..auth import service as auth
from ..auth import users as portal_users
from ..auth.models import OAuthClient, User
from ..auth.passwords import hash_secret, verify
from ..extensions import db
from ..registry.models import Organization
from . import data

NAME = "demo"


def _still_valid(entries: list[dict]) -> bool:
    for e in entries:
        client = db.session.get(OAuthClient, e.get("client_id", ""))
        if client is None or client.revoked_at is not None or not verify(client.secret_hash, e.get("client_secret")):
            return False
        if client.scope.split() != list(scope_rules.BY_KIND.get(client.org.kind, ())):
            return False  # the org kind's scopes changed: issue fresh clients
    return True


def _users(orgs: list[Organization], known: list[dict]) -> tuple[list[dict], bool]:
    """The demo users' entries, and whether anything changed (a user created or given a new password)."""
    passwords = {e.get("email"): e.get("password") for e in known if isinstance(e, dict)}
    out, changed = [], False
    for org in orgs:
        email = f"{data.USER_NAMES.get(org.name, org.id[:8])}@demo.example"
        user = db.session.scalar(select(User).where(User.email == email))
        password = passwords.get(email)
        if user is None:
            password = secrets.token_urlsafe(12)
            portal_users.create(org, email, f"Demo user of {org.name}", "admin", "demo-loader", password=password)
            changed = True
        elif user.disabled_at is not None or not password or not verify(user.password_hash, password):
            password = secrets.token_urlsafe(12)
            user.password_hash, user.disabled_at = hash_secret(password), None
            user.session_version += 1
            changed = True
        out.append({"email": email, "password": password,
                    "organization": {"name": org.name, "kind": org.kind, "id": org.id}})
    return out, changed


def _write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
    os.chmod(path, 0o600)


def ensure(path: Path) -> Path:
    orgs = db.session.scalars(select(Organization).where(Organization.kind != "custodian")
                              .order_by(Organization.kind, Organization.name)).all()
    doc: dict = {}
    if path.exists():
        try:
            doc = json.loads(path.read_text())
            doc = doc if isinstance(doc, dict) else {}
        except ValueError:
            doc = {}
    users, users_changed = _users(orgs, doc["users"] if isinstance(doc.get("users"), list) else [])
    try:
        entries = doc["clients"]
        if {e["organization"]["id"] for e in entries} == {o.id for o in orgs} and _still_valid(entries):
            if users_changed or doc.get("users") != users:
                _write(path, {**doc, "login_url": "/login", "users": users})
            return path
    except (KeyError, TypeError):
        pass
    for old in db.session.scalars(select(OAuthClient).filter_by(name=NAME, revoked_at=None)):
        auth.revoke_client(old)
    entries = []
    for org in orgs:
        client, secret = auth.create_client(org, NAME, None, "demo-loader")
        entries.append({"organization": {"id": org.id, "name": org.name, "kind": org.kind,
                                         "jurisdiction": org.jurisdiction},
                        "client_id": client.client_id, "client_secret": secret, "scopes": client.scope.split()})
    _write(path, {"token_url": "/oauth/token", "clients": entries, "login_url": "/login", "users": users})
    return path

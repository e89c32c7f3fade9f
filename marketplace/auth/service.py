"""Client credentials: create (secret shown once), revoke; tokens stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from ..db import utcnow
from ..errors import NotFound, Unprocessable
from ..extensions import db, plain_rows
from ..registry.models import Organization
from . import scopes as scope_rules
from .models import OAuthClient, OAuthToken, TokenTimes
from .passwords import hash_secret


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_client(org: Organization, name: str, requested: list[str] | None, actor: str) -> tuple[OAuthClient, str]:
    """A new client for `org`; returns it with its secret, which is never stored or shown again."""
    wanted = list(dict.fromkeys(requested)) if requested else list(scope_rules.BY_KIND.get(org.kind, ()))
    problems = scope_rules.check(org.kind, wanted)
    if problems:
        raise Unprocessable("; ".join(problems), {"scopes": problems})
    secret = secrets.token_urlsafe(32)
    client = OAuthClient(client_id="mpc_" + secrets.token_hex(12), secret_hash=hash_secret(secret), org_id=org.id,
                         name=name, scope=" ".join(wanted), created_by=actor)
    db.session.add(client)
    db.session.flush()
    return client, secret


def get_client(client_id: str) -> OAuthClient:
    client = db.session.get(OAuthClient, client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


def revoke_client(client: OAuthClient) -> None:
    """Revoke a client and every token it holds."""
    now = utcnow()
    client.revoked_at = client.revoked_at or now
    db.session.execute(update(OAuthToken).where(OAuthToken.client_id == client.client_id,
                                                OAuthToken.revoked_at.is_(None)).values(revoked_at=now))
    db.session.flush()


@dataclass(frozen=True)
class BearerOrg:
    id: str
    kind: str
    jurisdiction: str | None
    name: str


@dataclass(frozen=True)
class Bearer(TokenTimes):
    """A presented access token as the bearer check and the principal need it (authlib's TokenMixin), read by
    find_bearer() in one plain row query: no ORM objects are built on every API request."""
    client_id: str
    scope: str
    issued_at: int
    expires_in: int
    revoked: bool  # the token or its client
    org: BearerOrg

    def is_revoked(self) -> bool:
        return self.revoked


_FIND_BEARER = (select(OAuthToken.client_id, OAuthToken.scope, OAuthToken.issued_at, OAuthToken.expires_in,
                       OAuthToken.revoked_at, OAuthClient.revoked_at.label("client_revoked_at"), Organization.id,
                       Organization.kind, Organization.jurisdiction, Organization.name)
                .join(OAuthClient, OAuthClient.client_id == OAuthToken.client_id)
                .join(Organization, Organization.id == OAuthClient.org_id)
                .where(OAuthToken.token_hash == bindparam("token_hash")))


def find_bearer(token: str) -> Bearer | None:
    """The token with what the bearer check (expiry, revoked token or client, scopes) and the principal need,
    in one statement (find_token() gives the ORM token, for revocation and introspection)."""
    row = plain_rows(_FIND_BEARER, {"token_hash": token_hash(token)}).first()
    if row is None:
        return None
    return Bearer(row.client_id, row.scope, row.issued_at, row.expires_in,
                  row.revoked_at is not None or row.client_revoked_at is not None,
                  BearerOrg(row.id, row.kind, row.jurisdiction, row.name))


def find_token(token: str) -> OAuthToken | None:
    """The stored token, for revocation and tests (the bearer check on every request reads find_bearer())."""
    return db.session.scalar(select(OAuthToken).filter_by(token_hash=token_hash(token)))

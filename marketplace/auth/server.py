"""The authlib authorization server (client credentials + RFC 7009 revocation) and resource protection."""

from __future__ import annotations

import re
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import InvalidScopeError, grants
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Flask

from ..extensions import db
from .models import OAuthClient, OAuthToken
from .passwords import dummy_verify
from .service import find_bearer, find_token, token_hash

authorization = AuthorizationServer()
protector = ResourceProtector()


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self):
        """RFC 6749 5.2: a scope the client does not hold is invalid_scope, not a narrower token."""
        held = set(self.request.client.scope.split())
        refused = [s for s in scope_to_list(self.request.payload.scope) or [] if s not in held]
        if refused:
            raise InvalidScopeError(description="a requested scope is unknown or not held by this client; "
                                                f"it holds: {' '.join(sorted(held))}")


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def authenticate_token(self, request, client):
        """RFC 7009 2.2: another client's token is treated like an unknown one (200, nothing revoked), so
        the endpoint neither revokes it nor tells whether it exists."""
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        return token if token is not None and token.check_client(client) else None

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string)

    def revoke_token(self, token, request):
        token.revoke()
        db.session.commit()


class OpaqueBearer(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return find_bearer(token_string)


class UnknownClient:
    """Stands in for an unknown or revoked client id so that it fails exactly as a wrong secret does:
    same answer, and an argon2 check of the same cost (no timing oracle for which ids exist)."""

    def check_client_secret(self, client_secret: str) -> bool:
        dummy_verify(client_secret)
        return False


# what a client id can be (ours are mpc_ and hex): visible ASCII, so that no NUL, which PostgreSQL refuses in
# text, nor any other odd character of a form field ever reaches the database
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,48}")


def _query_client(client_id: str):
    ok = isinstance(client_id, str) and _CLIENT_ID.fullmatch(client_id)
    client = db.session.get(OAuthClient, client_id) if ok else None
    return client if client is not None and client.revoked_at is None else UnknownClient()


def _save_token(token: dict, request) -> None:
    db.session.add(OAuthToken(token_hash=token_hash(token["access_token"]), client_id=request.client.client_id,
                              scope=token.get("scope", ""), issued_at=int(time.time()),
                              expires_in=int(token["expires_in"])))
    db.session.commit()


def init_app(app: Flask) -> None:
    ttl = int(app.config.get("OAUTH_TOKEN_TTL", 3600))
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": ttl}
    authorization.init_app(app, query_client=_query_client, save_token=_save_token)
    app.extensions["marketplace.protector"] = protector  # what web.guard checks bearer tokens with
    if not getattr(authorization, "_marketplace_grants", False):
        authorization.register_grant(ClientCredentials)
        authorization.register_endpoint(Revocation)
        protector.register_token_validator(OpaqueBearer(realm="marketplace"))
        authorization._marketplace_grants = True

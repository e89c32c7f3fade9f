"""The authlib authorization server (client credentials + RFC 7009 revocation) and resource protection."""

from __future__ import annotations

import time

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Flask

from ..extensions import db
from .models import OAuthClient, OAuthToken
from .service import find_token, token_hash

authorization = AuthorizationServer()
protector = ResourceProtector()


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string)

    def revoke_token(self, token, request):
        token.revoke()
        db.session.commit()


class OpaqueBearer(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return find_token(token_string)


def _query_client(client_id: str):
    client = db.session.get(OAuthClient, client_id) if client_id else None
    return client if client is not None and client.revoked_at is None else None


def _save_token(token: dict, request) -> None:
    db.session.add(OAuthToken(token_hash=token_hash(token["access_token"]), client_id=request.client.client_id,
                              scope=token.get("scope", ""), issued_at=int(time.time()),
                              expires_in=int(token["expires_in"])))
    db.session.commit()


def init_app(app: Flask) -> None:
    ttl = int(app.config.get("OAUTH_TOKEN_TTL", 3600))
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": ttl}
    authorization.init_app(app, query_client=_query_client, save_token=_save_token)
    if not getattr(authorization, "_marketplace_grants", False):
        authorization.register_grant(ClientCredentials)
        authorization.register_endpoint(Revocation)
        protector.register_token_validator(OpaqueBearer(realm="marketplace"))
        authorization._marketplace_grants = True

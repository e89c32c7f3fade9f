"""POST /oauth/token and POST /oauth/revoke (form-encoded, as OAuth 2.0 says)."""

from __future__ import annotations

from flask import Blueprint

from .server import authorization

bp = Blueprint("oauth", __name__, url_prefix="/oauth")


@bp.post("/token")
def issue_token():
    return authorization.create_token_response()


@bp.post("/revoke")
def revoke_token():
    return authorization.create_endpoint_response("revocation")

"""POST /oauth/token and POST /oauth/revoke (form-encoded, as OAuth 2.0 says); both rate-limited."""

from __future__ import annotations

from flask import Blueprint

from ..web.limits import limited
from ..web.security import shown_once
from .server import authorization

bp = Blueprint("oauth", __name__, url_prefix="/oauth")


@bp.post("/token")
@limited("oauth")
@shown_once("access_token", remedy="request a new token")
def issue_token():
    return authorization.create_token_response()


@bp.post("/revoke")
@limited("oauth")
def revoke_token():
    """RFC 7009. A token that is unknown, or another client's, answers 200 and is left alone."""
    return authorization.create_endpoint_response("revocation")

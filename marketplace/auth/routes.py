"""POST /oauth/token and POST /oauth/revoke (form-encoded, as OAuth 2.0 says); both rate-limited."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import Blueprint, request

from ..web.limits import limited
from ..web.security import shown_once
from .server import authorization

bp = Blueprint("oauth", __name__, url_prefix="/oauth")


@bp.post("/token")
@limited("oauth")
@shown_once("access_token", remedy="request a new token")
def issue_token():
    return _unreadable_basic() or authorization.create_token_response()


@bp.post("/revoke")
@limited("oauth")
def revoke_token():
    """RFC 7009. A token that is unknown, or another client's, answers 200 and is left alone."""
    return _unreadable_basic() or authorization.create_endpoint_response("revocation")


def _unreadable_basic():
    """Basic credentials authlib cannot read (not UTF-8 once decoded, such as b"\\xff:\\xff") answer what wrong
    credentials answer, 401 invalid_client with a Basic challenge, instead of failing inside authlib; None
    when authlib can read the header (or there is none)."""
    try:
        extract_basic_authorization(request.headers)
    except ValueError:  # UnicodeDecodeError, or a header authlib cannot split
        error = InvalidClientError(description="the Basic credentials are not UTF-8 client_id:client_secret",
                                   status_code=401)
        return authorization.handle_error_response(None, error)
    return None

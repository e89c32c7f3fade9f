"""API client credentials, issued and revoked by a regulator for the organizations it registered."""

from __future__ import annotations

from ..extensions import db
from ..registry.models import Organization
from ..tenancy import get_visible
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, principal, requires
from ..web.security import shown_once
from . import (
    access,  # noqa: F401  (registers the visibility rule)
)
from . import service as auth
from .models import OAuthClient
from .schemas import ClientCreate, ClientOut

bp = Blueprint("clients", __name__, url_prefix="/api/v1", description="API client credentials")


def _regulator() -> Organization:
    return db.session.get(Organization, acting_as("regulator").org_id)


@bp.route("/organizations/<org_id>/clients", methods=["POST"])
@requires("registry:write")
@shown_once("client_secret", remedy="create a new client")
@bp.arguments(ClientCreate)
@bp.response(201, ClientOut)
def create_client(data, org_id):
    """Issue API client credentials for an organization the regulator registered. The secret is shown once:
    never stored, and absent from an Idempotency-Key replay (which carries a `Secret-Redacted` header)."""
    _regulator()
    org = get_visible(Organization, org_id, "organization")
    client, secret = auth.create_client(org, data["name"], data.get("scopes"), principal().actor)
    client.client_secret = secret  # transient: dumped once in this response, never stored
    return client


@bp.route("/clients/<client_id>/revoke", methods=["POST"])
@requires("registry:write")
@bp.response(200, ClientOut)
def revoke_client(client_id):
    """Revoke a client and all its tokens."""
    _regulator()
    client = get_visible(OAuthClient, client_id, "client")
    auth.revoke_client(client)
    return client

"""Insurer keys and attestations API, and the public insurer JWKS."""

from __future__ import annotations

from sqlalchemy import select

from ..errors import Forbidden, NotFound
from ..extensions import db
from ..keys import service as keys
from ..policies.models import Policy
from ..registry.models import Organization
from ..tenancy import get_visible
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, principal, public, requires
from . import service
from .models import Attestation
from .schemas import AttestationIn, AttestationList, AttestationOut, AttestationPayload, JwkOut, Jwks, KeyIn

bp = Blueprint("attestations", __name__, url_prefix="/api/v1", description="Insurer keys and attestations")


def _insurers_policy(policy_id: str) -> Policy:
    me = acting_as("insurer")
    p = get_visible(Policy, policy_id, "policy")
    if p.insurer_id != me.org_id:
        raise Forbidden("only the policy's insurer attests it")
    return p


@bp.route("/policies/<policy_id>/attestation-payload", methods=["GET"])
@requires("policies:read")
@bp.response(200, AttestationPayload)
def attestation_payload(policy_id):
    """Exactly what the insurer signs for the current revision (save it as POLICY.json for
    `marketplace attest --key KEY.jwk --policy POLICY.json`)."""
    return service.payload_for(get_visible(Policy, policy_id, "policy"))


@bp.route("/policies/<policy_id>/attestations", methods=["POST"])
@requires("policies:write")
@bp.arguments(AttestationIn)
@bp.response(201, AttestationOut)
def submit_attestation(data, policy_id):
    """Submit a compact JWS (EdDSA) signed with one of the insurer's registered keys over the current
    revision's terms. Refused with every mismatching field named."""
    return service.submit(_insurers_policy(policy_id), data["jws"], principal().actor)


@bp.route("/policies/<policy_id>/attestations/custodial", methods=["POST"])
@requires("policies:write")
@bp.response(201, AttestationOut)
def sign_attestation(policy_id):
    """Instruct the service to sign the current revision with the insurer's custodial key."""
    return service.sign_custodially(_insurers_policy(policy_id), principal().actor)


@bp.route("/policies/<policy_id>/attestations", methods=["GET"])
@requires("policies:read")
@bp.response(200, AttestationList)
def list_attestations(policy_id):
    p = get_visible(Policy, policy_id, "policy")
    return {"items": db.session.scalars(select(Attestation).filter_by(policy_id=p.id)
                                        .order_by(Attestation.revision)).all()}


@bp.route("/insurer-keys", methods=["POST"])
@requires("policies:write")
@bp.arguments(KeyIn)
@bp.response(201, JwkOut)
def register_key(data):
    """Register the insurer's own public key (OKP/Ed25519 JWK); the private key never leaves the insurer."""
    return keys.jwk_entry(keys.register_insurer_key(acting_as("insurer").org_id, data["jwk"]))


@bp.route("/insurer-keys/custodial", methods=["POST"])
@requires("policies:write")
@bp.response(201, JwkOut)
def custodial_key():
    """Ask the service to hold a signing key for the insurer (encrypted at rest, used only on instruction)."""
    return keys.jwk_entry(keys.custodial_insurer_key(acting_as("insurer").org_id))


@bp.route("/insurer-keys/<kid>/retire", methods=["POST"])
@requires("policies:write")
@bp.response(200, JwkOut)
def retire_key(kid):
    """Retire a key: it still verifies what it signed but attests nothing new."""
    return keys.jwk_entry(keys.retire_insurer_key(acting_as("insurer").org_id, kid))


@bp.route("/insurers/<insurer_id>/jwks.json", methods=["GET"])
@public
@bp.response(200, Jwks)
def insurer_jwks(insurer_id):
    """The insurer's public keys, active and retired (public)."""
    org = db.session.get(Organization, insurer_id) if len(insurer_id) <= 36 else None
    if org is None or org.kind != "insurer":
        raise NotFound(f"no insurer {insurer_id}")
    return keys.insurer_jwks(insurer_id)

"""Policies API: register, read, amend (new revision), cancel (notice respected), lapse."""

from __future__ import annotations

from datetime import date

from ..errors import Unprocessable
from ..extensions import db
from ..registry.models import Organization
from ..tenancy import get_visible, visible
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, principal, requires
from ..web.pagination import paginate
from . import (
    access,  # noqa: F401  (registers the visibility rule)
    service,
)
from .models import Policy
from .schemas import PolicyAmend, PolicyCancel, PolicyOut, PolicyPage, PolicyQuery, PolicyRegister

bp = Blueprint("policies", __name__, url_prefix="/api/v1/policies", description="Insurance policies")


def _insurer() -> Organization:
    return db.session.get(Organization, acting_as("insurer").org_id)


def _own(policy_id: str) -> Policy:
    _insurer()
    pol = get_visible(Policy, policy_id, "policy")
    return pol


@bp.route("", methods=["POST"])
@requires("policies:write")
@bp.arguments(PolicyRegister)
@bp.response(201, PolicyOut)
def register_policy(data):
    """Register a policy the insurer wrote outside the market. The insured must be an exchange in a
    jurisdiction where the insurer is approved. `territories` (optional) records where the cover applies:
    rule-sets that require it (MiCA Art. 67(4)) count the policy only where its territories include the
    obligation's jurisdiction (for the EU: EU, or every member state)."""
    return service.register(_insurer(), data, principal().actor)


@bp.route("", methods=["GET"])
@requires("policies:read")
@bp.arguments(PolicyQuery, location="query")
@bp.response(200, PolicyPage)
def list_policies(q):
    stmt = visible(Policy).order_by(Policy.created_at.desc(), Policy.id)
    if "status" in q:
        stmt = stmt.where(Policy.status == q["status"])
    return paginate(stmt, q["page"], q["per_page"])


@bp.route("/<policy_id>", methods=["GET"])
@requires("policies:read")
@bp.response(200, PolicyOut)
def get_policy(policy_id):
    return get_visible(Policy, policy_id, "policy")


@bp.route("/<policy_id>/amend", methods=["POST"])
@requires("policies:write")
@bp.arguments(PolicyAmend)
@bp.response(200, PolicyOut)
def amend_policy(data, policy_id):
    """Change limit, deductible, perils or term: a new revision. Allocations beyond a lowered limit are flagged.
    Territories (ISO 3166-1 alpha-2 codes or EU) are not part of the insurer's attestation: changing only them
    keeps the revision and its attestation (still an amendment: certificates relying on the policy are revoked)."""
    pol = _own(policy_id)
    changes = {k: v for k, v in data.items() if k not in ("limit", "deductible")}
    for name, col in (("limit", "limit_amount"), ("deductible", "deductible")):
        if name in data:
            if data[name].currency != pol.currency:
                raise Unprocessable(f"{name} must be in {pol.currency}", {f"{name}/currency": ["mismatch"]})
            changes[col] = data[name].amount
    return service.amend(pol, changes, principal().actor)


@bp.route("/<policy_id>/cancel", methods=["POST"])
@requires("policies:write")
@bp.arguments(PolicyCancel)
@bp.response(200, PolicyOut)
def cancel_policy(data, policy_id):
    """Cancel with an effective date at least the policy's notice period away."""
    return service.cancel(_own(policy_id), data["effective_on"], date.today(), principal().actor, data.get("reason"))


@bp.route("/<policy_id>/lapse", methods=["POST"])
@requires("policies:write")
@bp.response(200, PolicyOut)
def lapse_policy(policy_id):
    """Mark a policy lapsed once its term has ended."""
    return service.lapse(_own(policy_id), date.today(), principal().actor)

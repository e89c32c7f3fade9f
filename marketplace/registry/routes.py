"""Registry API: organizations, insurer standing and ratings, custodian links (API clients: marketplace.auth)."""

from __future__ import annotations

from ..errors import Unprocessable
from ..extensions import db
from ..tenancy import get_visible, visible
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, principal, requires
from ..web.pagination import paginate
from . import (
    access,  # noqa: F401  (registers the visibility rules)
    service,
)
from .models import Custodian, Exchange, Organization, OrgHistory
from .schemas import (
    CustodianLink,
    GroupIn,
    HistoryList,
    OrganizationCreate,
    OrganizationOut,
    OrganizationPage,
    OrganizationQuery,
    RatingIn,
    Reason,
    RegistrationIn,
)

bp = Blueprint("registry", __name__, url_prefix="/api/v1", description="Organizations and their standing")


def _regulator() -> Organization:
    return db.session.get(Organization, acting_as("regulator").org_id)


@bp.route("/organizations", methods=["POST"])
@requires("registry:write")
@bp.arguments(OrganizationCreate)
@bp.response(201, OrganizationOut)
def create_organization(data):
    """Register an insurer (pending approval), an exchange or a custodian in the regulator's jurisdiction."""
    reg, actor, group = _regulator(), principal().actor, data.get("group_name")
    if data["kind"] == "insurer":
        return service.admit_insurer(data["name"], reg, actor, data.get("rating"), group)
    if data["kind"] == "custodian":
        return service.register_custodian(data["name"], reg.jurisdiction, data["registration_status"], actor,
                                          data.get("registration_number"), group).org
    ex = service.register_exchange(data["name"], data["licence_number"], reg, actor,
                                   tuple(sorted(set(data.get("service_classes", [])))), group)
    for i, cid in enumerate(data.get("custodians", [])):
        custodian = db.session.scalar(visible(Custodian).where(Custodian.org_id == cid))
        if custodian is None:
            raise Unprocessable(f"no custodian {cid}", {f"/custodians/{i}": ["no such custodian"]})
        service.link_custodian(ex, custodian)
    return ex.org


@bp.route("/organizations", methods=["GET"])
@requires("registry:read")
@bp.arguments(OrganizationQuery, location="query")
@bp.response(200, OrganizationPage)
def list_organizations(q):
    """Organizations visible to the caller. Sort: name, -name, created_at, -created_at."""
    stmt = visible(Organization)
    if "kind" in q:
        stmt = stmt.where(Organization.kind == q["kind"])
    col = Organization.name if q["sort"].lstrip("-") == "name" else Organization.created_at
    stmt = stmt.order_by(col.desc() if q["sort"].startswith("-") else col, Organization.id)
    return paginate(stmt, q["page"], q["per_page"])


@bp.route("/organizations/<org_id>", methods=["GET"])
@requires("registry:read")
@bp.response(200, OrganizationOut)
def get_organization(org_id):
    return get_visible(Organization, org_id, "organization")


@bp.route("/organizations/<org_id>/group", methods=["POST"])
@requires("registry:write")
@bp.arguments(GroupIn)
@bp.response(200, OrganizationOut)
def set_group(data, org_id):
    """Record the financial group an organization belongs to (null: none). History kept. Eligibility reads it:
    an insurer in the exchange's own group is no third party (MiCA Art. 67(5))."""
    _regulator()
    org = get_visible(Organization, org_id, "organization")
    if org.kind == "regulator":
        raise Unprocessable("a regulator belongs to no financial group", {"group_name": ["not for a regulator"]})
    return service.set_group(org, data["group_name"], principal().actor, data.get("reason"))


@bp.route("/organizations/<org_id>/history", methods=["GET"])
@requires("registry:read")
@bp.response(200, HistoryList)
def organization_history(org_id):
    """Every change of status, rating, registration or group: what, old, new, who, when, why, and the
    jurisdiction whose regulator made it (status and rating are per regulator)."""
    org = get_visible(Organization, org_id, "organization")
    rows = db.session.scalars(visible(OrgHistory).where(OrgHistory.org_id == org.id).order_by(OrgHistory.id)).all()
    return {"items": rows}


def _insurer(insurer_id: str) -> Organization:
    org = get_visible(Organization, insurer_id, "insurer")
    if org.kind != "insurer":
        raise Unprocessable(f"organization {insurer_id} is not an insurer")
    return org


def _transition(action: str):
    def view(data, insurer_id):
        service.transition_insurer(_insurer(insurer_id), _regulator(), action, principal().actor,
                                   data.get("reason"))
        return _insurer(insurer_id)
    view.__name__ = f"{action}_insurer"
    view.__doc__ = {"approve": "Approve a pending insurer.", "suspend": "Suspend an approved insurer.",
                    "reinstate": "Reinstate a suspended insurer."}[action]
    return view


for _action in service.INSURER_TRANSITIONS:
    bp.route(f"/insurers/<insurer_id>/{_action}", methods=["POST"])(
        requires("registry:write")(bp.arguments(Reason)(bp.response(200, OrganizationOut)(_transition(_action)))))


@bp.route("/insurers/<insurer_id>/rating", methods=["POST"])
@requires("registry:write")
@bp.arguments(RatingIn)
@bp.response(200, OrganizationOut)
def rate_insurer(data, insurer_id):
    """Set the calling regulator's rating of an insurer, for its jurisdiction only (history kept, with the
    jurisdiction). Another regulator's rating is unchanged. A downgrade revokes the certificates of this
    jurisdiction whose offset it reduces (the `insurer.rating_changed` event's revocation subscriber)."""
    reg = _regulator()
    org = _insurer(insurer_id)
    service.set_rating(org, reg, data["rating"], principal().actor, data.get("reason"))
    return org


def _exchange(exchange_id: str) -> Exchange:
    return get_visible(Exchange, exchange_id, "exchange")


@bp.route("/exchanges/<exchange_id>/custodians", methods=["POST"])
@requires("registry:write")
@bp.arguments(CustodianLink)
@bp.response(200, OrganizationOut)
def link_custodian(data, exchange_id):
    """Record that an exchange depends on a custodian."""
    ex = _exchange(exchange_id)
    service.link_custodian(ex, get_visible(Custodian, data["custodian"], "custodian"))
    return ex.org


@bp.route("/exchanges/<exchange_id>/custodians/<custodian_id>", methods=["DELETE"])
@requires("registry:write")
@bp.response(200, OrganizationOut)
def unlink_custodian(exchange_id, custodian_id):
    ex = _exchange(exchange_id)
    service.unlink_custodian(ex, get_visible(Custodian, custodian_id, "custodian"))
    return ex.org


@bp.route("/custodians/<custodian_id>/registration", methods=["POST"])
@requires("registry:write")
@bp.arguments(RegistrationIn)
@bp.response(200, OrganizationOut)
def set_registration(data, custodian_id):
    """Set a custodian's registration status (history kept)."""
    _regulator()
    c = get_visible(Custodian, custodian_id, "custodian")
    service.set_custodian_status(c, data["status"], principal().actor, data.get("reason"))
    return c.org

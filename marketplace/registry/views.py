"""Portal pages of this feature (blueprint registry_pages): the same schemas, services and tenancy as its API.

The regulator's registry: the insurers it admitted (their status with it, its own rating of them for its
jurisdiction, every regulator's standing and rating, and the history), the financial group of each organization,
the exchanges it licensed and the custodians of its jurisdiction. Every change goes through the service
call its API route makes (`registry/routes.py`), in one unit of work: suspending an insurer records the
`insurer.suspended` event whose revocation subscriber revokes the certificates that relied on it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..domain import ratings
from ..errors import NotFound, Unprocessable
from ..extensions import db
from ..tenancy import get_visible, visible
from ..web.pages import Failure, attempt, load_form, page, signed_in
from . import (
    access,  # noqa: F401  (registers the visibility rules)
    service,
)
from .models import CUSTODIAN_STATUSES, Custodian, Exchange, ExchangeCustodian, Organization, OrgHistory
from .schemas import CustodianLink, GroupIn, OrganizationCreate, RatingIn, Reason, RegistrationIn

bp = Blueprint("registry_pages", __name__, url_prefix="/registry", template_folder="templates")

UNRATED = "unrated"  # the rating select's value for "no rating" (the API's `"rating": null`)
SERVICE_CLASSES = (1, 2, 3)


def _regulator() -> Organization:
    return db.session.get(Organization, signed_in().org_id)


def _actor() -> str:
    return signed_in().actor


def _collapse(failure: Failure | None) -> Failure | None:
    """List fields report errors per item ("service_classes.0"); the form shows them next to the group."""
    if failure:
        merged: dict[str, list[str]] = {}
        for name, msgs in failure.fields.items():
            merged.setdefault(name.split(".")[0], []).extend(msgs)
        failure.fields = merged
    return failure


def _by_name(stmt, model):
    return stmt.join(Organization, Organization.id == model.org_id).order_by(Organization.name)


def _overview() -> dict:
    p = signed_in()
    insurers = db.session.scalars(visible(Organization).where(Organization.kind == "insurer")
                                  .order_by(Organization.name)).all()
    return {
        "insurers": insurers,
        "standing": service.standing_with(p.org_id, [o.id for o in insurers]),
        "rated": service.rated_by(p.org_id, [o.id for o in insurers]),
        "exchanges": db.session.scalars(_by_name(visible(Exchange), Exchange)).all(),
        "custodians": db.session.scalars(_by_name(visible(Custodian), Custodian)).all(),
        "jurisdiction": p.jurisdiction,
    }


def _render_registry(failure: Failure | None = None, status: int = 200):
    return render_template("registry/organizations.html", failure=failure, **_overview()), status


@bp.route("/")
@page("regulator")
def organizations():
    return _render_registry()


def _render_org(org_id: str, failure: Failure | None = None, form=None, status: int = 200):
    p = signed_in()
    org = get_visible(Organization, org_id, "organization")
    ctx: dict = {"org": org, "failure": failure, "form": form or {}, "jurisdiction": p.jurisdiction,
                 "history": db.session.scalars(visible(OrgHistory).where(OrgHistory.org_id == org.id)
                                               .order_by(OrgHistory.id)).all(),
                 "scale": ratings.SCALE, "unrated": UNRATED, "statuses": CUSTODIAN_STATUSES}
    if org.kind == "insurer":
        ctx["standing"] = service.standing_with(p.org_id, [org.id]).get(org.id)
        ctx["my_rating"] = service.rated_by(p.org_id, [org.id]).get(org.id)
        ctx["approvals"] = service.approvals_of(org)
    elif org.kind == "exchange":
        ex = db.session.scalar(visible(Exchange).where(Exchange.org_id == org.id))
        ctx["exchange"] = ex
        if ex is not None:
            linked = {c.org_id for c in ex.custodians}
            ctx["linkable"] = [c for c in db.session.scalars(_by_name(visible(Custodian), Custodian))
                               if c.org_id not in linked]
    elif org.kind == "custodian":
        custodian = db.session.scalar(visible(Custodian).where(Custodian.org_id == org.id))
        ctx["custodian"] = custodian
        if custodian is not None:
            ctx["dependants"] = db.session.scalars(_by_name(
                visible(Exchange).where(Exchange.org_id.in_(
                    select(ExchangeCustodian.exchange_id).where(ExchangeCustodian.custodian_id == org.id))),
                Exchange)).all()
    return render_template("registry/organization.html", **ctx), status


@bp.route("/organizations/<org_id>")
@page("regulator")
def organization(org_id: str):
    return _render_org(org_id)


# ---- insurers ----

def _insurer(insurer_id: str) -> Organization:
    org = get_visible(Organization, insurer_id, "insurer")
    if org.kind != "insurer":
        raise Unprocessable(f"organization {insurer_id} is not an insurer")
    return org


@bp.route("/insurers/new", methods=["GET", "POST"])
@page("regulator")
def new_insurer():
    if request.method == "POST":
        data, failure = load_form(OrganizationCreate(), request.form, extra={"kind": "insurer"})
        if not failure:
            org, failure = attempt(service.admit_insurer, data["name"], _regulator(), _actor(), data.get("rating"),
                                   data.get("group_name"))
        if not failure:
            flash(_("%(name)s is admitted, pending approval.", name=org.name), "success")
            return redirect(url_for(".organization", org_id=org.id))
        return render_template("registry/new_insurer.html", failure=failure, form=request.form,
                               scale=ratings.SCALE), failure.status
    return render_template("registry/new_insurer.html", failure=None, form={}, scale=ratings.SCALE)


def _back(org_id: str, failure: Failure, form=None):
    """A refused change, shown on the page its form was on (the registry list or the organization)."""
    if request.form.get("back") == "registry":
        return _render_registry(failure, failure.status)
    return _render_org(org_id, failure, form, failure.status)


def _after(org_id: str):
    if request.form.get("back") == "registry":
        return redirect(url_for(".organizations"))
    return redirect(url_for(".organization", org_id=org_id))


@bp.route("/insurers/<insurer_id>/approve", methods=["POST"], defaults={"action": "approve"})
@bp.route("/insurers/<insurer_id>/reinstate", methods=["POST"], defaults={"action": "reinstate"})
@page("regulator")
def transition(insurer_id: str, action: str):
    """Approve a pending insurer or reinstate a suspended one (suspending asks for a reason: `suspend`)."""
    org = _insurer(insurer_id)
    name = org.name
    data, failure = load_form(Reason(), request.form)
    if not failure:
        _unused, failure = attempt(service.transition_insurer, org, _regulator(), action, _actor(),
                                   data.get("reason"))
    if failure:
        return _back(insurer_id, failure)
    message = (_("%(name)s is approved in %(jurisdiction)s.", name=name, jurisdiction=signed_in().jurisdiction)
               if action == "approve" else
               _("%(name)s is reinstated in %(jurisdiction)s.", name=name, jurisdiction=signed_in().jurisdiction))
    flash(message, "success")
    return _after(insurer_id)


@bp.route("/insurers/<insurer_id>/suspend", methods=["GET", "POST"])
@page("regulator")
def suspend(insurer_id: str):
    org = _insurer(insurer_id)
    name = org.name
    if request.method == "POST":
        data, failure = load_form(Reason(), request.form)
        if not failure:
            _unused, failure = attempt(service.transition_insurer, org, _regulator(), "suspend", _actor(),
                                       data.get("reason"))
        if not failure:
            flash(_("%(name)s is suspended in %(jurisdiction)s. The certificates there that relied on it are "
                    "revoked.", name=name, jurisdiction=signed_in().jurisdiction), "success")
            return redirect(url_for(".organization", org_id=insurer_id))
        return render_template("registry/suspend.html", org=_insurer(insurer_id), failure=failure,
                               form=request.form, jurisdiction=signed_in().jurisdiction), failure.status
    return render_template("registry/suspend.html", org=org, failure=None, form={},
                           jurisdiction=signed_in().jurisdiction)


@bp.route("/insurers/<insurer_id>/rating", methods=["POST"])
@page("regulator")
def rate(insurer_id: str):
    org = _insurer(insurer_id)
    name = org.name
    extra = {"rating": None} if request.form.get("rating") == UNRATED else {}
    data, failure = load_form(RatingIn(), request.form, extra=extra)
    if not failure:
        _unused, failure = attempt(service.set_rating, org, _regulator(), data["rating"], _actor(),
                                   data.get("reason"))
    if failure:
        return _render_org(insurer_id, failure, request.form, failure.status)
    flash(_("Your rating of %(name)s in %(jurisdiction)s is now %(rating)s.", name=name,
            jurisdiction=signed_in().jurisdiction, rating=data["rating"] or _("unrated")), "success")
    return redirect(url_for(".organization", org_id=insurer_id))


@bp.route("/organizations/<org_id>/group", methods=["POST"])
@page("regulator")
def group(org_id: str):
    """Record the financial group an organization belongs to (`POST /api/v1/organizations/<id>/group`)."""
    org = get_visible(Organization, org_id, "organization")
    name = org.name
    data, failure = load_form(GroupIn(), request.form, extra={"group_name": request.form.get("group_name") or None})
    if not failure and org.kind == "regulator":
        failure = Failure(_("A regulator belongs to no financial group."), {"group_name": [_("Not for a regulator.")]})
    if not failure:
        _unused, failure = attempt(service.set_group, org, data["group_name"], _actor(), data.get("reason"))
    if failure:
        return _render_org(org_id, failure, request.form, failure.status)
    group_name = (data["group_name"] or "").strip()
    if group_name:
        flash(_("%(name)s is recorded as a member of %(group)s.", name=name, group=group_name), "success")
    else:
        flash(_("%(name)s is recorded as a member of no financial group.", name=name), "success")
    return redirect(url_for(".organization", org_id=org_id))


# ---- exchanges ----

def _register_exchange(data: dict, regulator: Organization, actor: str) -> Organization:
    """What `POST /api/v1/organizations` does for an exchange: register it, then link its custodians."""
    ex = service.register_exchange(data["name"], data["licence_number"], regulator, actor,
                                   tuple(sorted(set(data.get("service_classes", [])))), data.get("group_name"))
    for cid in data.get("custodians", []):
        custodian = db.session.scalar(visible(Custodian).where(Custodian.org_id == cid))
        if custodian is None:
            raise Unprocessable(f"no custodian {cid}", {"custodians": [_("There is no such custodian.")]})
        service.link_custodian(ex, custodian)
    return ex.org


def _exchange_form(failure=None, form=None, status=200):
    custodians = db.session.scalars(_by_name(visible(Custodian), Custodian)).all()
    form = form or {}

    def chosen(name: str) -> list[str]:
        return form.getlist(name) if hasattr(form, "getlist") else []

    return render_template("registry/new_exchange.html", failure=failure, form=form, custodians=custodians,
                           classes=SERVICE_CLASSES, chosen=chosen), status


@bp.route("/exchanges/new", methods=["GET", "POST"])
@page("regulator")
def new_exchange():
    if request.method == "POST":
        data, failure = load_form(OrganizationCreate(), request.form, extra={"kind": "exchange"})
        if not failure:
            org, failure = attempt(_register_exchange, data, _regulator(), _actor())
        if not failure:
            flash(_("%(name)s is registered.", name=org.name), "success")
            return redirect(url_for(".organization", org_id=org.id))
        return _exchange_form(_collapse(failure), request.form, failure.status)
    return _exchange_form()


@bp.route("/exchanges/<exchange_id>/custodians", methods=["POST"])
@page("regulator")
def link_custodian(exchange_id: str):
    ex = get_visible(Exchange, exchange_id, "exchange")
    data, failure = load_form(CustodianLink(), request.form)
    custodian = None
    if not failure:
        try:
            custodian = get_visible(Custodian, data["custodian"], "custodian")
        except NotFound:
            failure = Failure(_("There is no such custodian."), {"custodian": [_("Choose a custodian from the list.")]})
    if not failure:
        name = custodian.org.name
        _unused, failure = attempt(service.link_custodian, ex, custodian)
    if failure:
        return _render_org(exchange_id, failure, request.form, failure.status)
    flash(_("%(custodian)s is linked.", custodian=name), "success")
    return redirect(url_for(".organization", org_id=exchange_id))


@bp.route("/exchanges/<exchange_id>/custodians/<custodian_id>/unlink", methods=["POST"])
@page("regulator")
def unlink_custodian(exchange_id: str, custodian_id: str):
    ex = get_visible(Exchange, exchange_id, "exchange")
    custodian = get_visible(Custodian, custodian_id, "custodian")
    name = custodian.org.name
    _unused, failure = attempt(service.unlink_custodian, ex, custodian)
    if failure:
        return _render_org(exchange_id, failure, None, failure.status)
    flash(_("%(custodian)s is unlinked.", custodian=name), "success")
    return redirect(url_for(".organization", org_id=exchange_id))


# ---- custodians ----

@bp.route("/custodians/new", methods=["GET", "POST"])
@page("regulator")
def new_custodian():
    if request.method == "POST":
        data, failure = load_form(OrganizationCreate(), request.form, extra={"kind": "custodian"})
        if not failure:
            c, failure = attempt(service.register_custodian, data["name"], signed_in().jurisdiction,
                                 data["registration_status"], _actor(), data.get("registration_number"),
                                 data.get("group_name"))
        if not failure:
            flash(_("%(name)s is registered.", name=c.org.name), "success")
            return redirect(url_for(".organization", org_id=c.org_id))
        return render_template("registry/new_custodian.html", failure=failure, form=request.form,
                               statuses=CUSTODIAN_STATUSES), failure.status
    return render_template("registry/new_custodian.html", failure=None, form={}, statuses=CUSTODIAN_STATUSES)


@bp.route("/custodians/<custodian_id>/registration", methods=["POST"])
@page("regulator")
def registration(custodian_id: str):
    custodian = get_visible(Custodian, custodian_id, "custodian")
    name = custodian.org.name
    data, failure = load_form(RegistrationIn(), request.form)
    if not failure:
        _unused, failure = attempt(service.set_custodian_status, custodian, data["status"], _actor(),
                                   data.get("reason"))
    if failure:
        return _render_org(custodian_id, failure, request.form, failure.status)
    flash(_("The registration status of %(name)s is changed.", name=name), "success")
    return redirect(url_for(".organization", org_id=custodian_id))

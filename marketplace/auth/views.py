"""Portal pages of this feature (blueprint auth_pages): the same schemas, services and tenancy as its API.

API clients of an organization: its admins manage its own, a regulator's admins those of the organizations in
its registry (the rule the users pages follow, `users.may_manage`). A new client's secret is shown once,
on the answer to the form that created it (`Cache-Control: no-store`), and is stored nowhere.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..errors import NotFound
from ..extensions import db
from ..registry.models import Organization
from ..tenancy import get_visible, visible
from ..web.pages import attempt, load_form, page, signed_in
from . import (
    access,  # noqa: F401  (registers the visibility rule)
    users,
)
from . import scopes as scope_rules
from . import service as auth
from .models import OAuthClient
from .schemas import ClientCreate

bp = Blueprint("auth_pages", __name__, url_prefix="/auth", template_folder="templates")

# What each scope lets a client do, in words people read (auth.scopes.SCOPES says the same for the API).
SCOPE_TEXT = {
    "registry:read": _l("read organizations visible to the caller"),
    "registry:write": _l("admit insurers, register exchanges and custodians, issue client credentials"),
    "rulesets:write": _l("publish rule-set versions for the regulator's jurisdiction"),
    "reports:read": _l("read exchange reports (own, or the regulator's exchanges)"),
    "reports:write": _l("report volumes, custody balances and incidents"),
    "obligations:read": _l("read obligations"),
    "obligations:write": _l("compute obligations"),
    "market:read": _l("search offerings; read coverage requests addressed to or sent by the caller"),
    "market:write": _l("insurers: list offerings, quote, decline, bind; exchanges: request, accept, withdraw"),
    "policies:read": _l("read policies (insurer: its own; exchange: where insured; regulator: its jurisdiction)"),
    "policies:write": _l("insurers: register, amend, cancel and lapse policies"),
    "allocations:write": _l("exchanges: attach and detach policy limit to their obligations"),
    "certificates:read": _l("read certificates, bundles and PDFs"),
    "certificates:write": _l("exchanges: request certificates of their offset"),
    "webhooks:read": _l("read the organization's webhooks and their delivery logs"),
    "webhooks:write": _l("subscribe, delete and redeliver the organization's webhooks"),
}


def _managed_org(org_id: str | None) -> Organization:
    """The organization whose clients the caller may manage (404 for any other, as for one that does not
    exist): its own for an admin, or one a regulator sees in its registry."""
    p = signed_in()
    org = get_visible(Organization, org_id or p.org_id, "organization")
    if not users.may_manage(g.portal_user.org, p.role or "member", org):
        raise NotFound(f"no organization {org_id}")
    return org


def _scope_options(org: Organization) -> list[tuple[str, str]]:
    return [(s, f"{s} — {SCOPE_TEXT.get(s, scope_rules.SCOPES.get(s, ''))}")
            for s in scope_rules.BY_KIND.get(org.kind, ())]


def _render(org: Organization, failure=None, form=None, created=None, status: int = 200):
    p = signed_in()
    clients = db.session.scalars(visible(OAuthClient).where(OAuthClient.org_id == org.id)
                                 .order_by(OAuthClient.created_at, OAuthClient.client_id)).all()
    names = [c.name for c in clients if c.revoked_at is None]
    orgs = []
    if p.kind == "regulator":
        orgs = db.session.scalars(visible(Organization).order_by(Organization.kind, Organization.name)).all()
    if form is not None and hasattr(form, "getlist"):
        checked = form.getlist("scopes")
    else:
        checked = list(scope_rules.BY_KIND.get(org.kind, ()))
    resp = make_response(render_template(
        "auth/clients.html", org=org, clients=clients, orgs=orgs, failure=failure, form=form or {},
        checked=checked, scope_options=_scope_options(org), created=created,
        duplicate=lambda name: names.count(name) > 1), status)
    if created is not None:  # the secret is on this page only: no cache may keep it
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Pragma"] = "no-cache"
    return resp


def _forbidden_for_member(org_id: str | None):
    p = signed_in()
    return p.role != "admin" and (org_id or p.org_id) == p.org_id


@bp.route("/clients", methods=["GET", "POST"])
@page("insurer", "exchange", "regulator")
def clients():
    org_id = request.values.get("org") or None
    if _forbidden_for_member(org_id):
        return render_template("auth/clients.html", org=None, clients=[], orgs=[], failure=None, form={},
                               checked=[], scope_options=[], created=None, duplicate=lambda n: False), 403
    org = _managed_org(org_id)
    if request.method == "POST":
        data, failure = load_form(ClientCreate(), request.form)
        if not failure:
            result, failure = attempt(auth.create_client, org, data["name"], data.get("scopes"), signed_in().actor)
        if failure:
            return _render(org, failure, request.form, status=failure.status)
        client, secret = result
        created = {"name": client.name, "client_id": client.client_id, "client_secret": secret,
                   "scopes": client.scope.split()}
        return _render(org, created=created)
    return _render(org)


@bp.route("/clients/<client_id>/revoke", methods=["POST"])
@page("insurer", "exchange", "regulator")
def revoke(client_id: str):
    client = get_visible(OAuthClient, client_id, "client")
    org = _managed_org(client.org_id)
    name = client.name
    _unused, failure = attempt(auth.revoke_client, client)
    if failure:
        return _render(org, failure, status=failure.status)
    flash(_("%(name)s is revoked; its tokens no longer work.", name=name), "success")
    return redirect(url_for(".clients", org=org.id))

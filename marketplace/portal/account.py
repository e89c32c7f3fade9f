"""Signing in and out, the language switch, one-time links (invitation, password reset), the password,
and an organization's users (its admins, or the admins of the regulator that registered it, manage them)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from ..auth import users
from ..auth.models import USER_ROLES, User
from ..errors import NotFound
from ..extensions import db
from ..registry.models import Organization
from ..tenancy import get_visible, visible
from ..web import limits
from ..web.pages import Failure, attempt, page, signed_in
from .i18n import LANGUAGES
from .session import SignedIn

bp = Blueprint("account", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, no `//`), so sign-in never redirects elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def home_for(kind: str) -> str:
    return url_for({"insurer": "insurer_portal.dashboard", "exchange": "exchange_portal.dashboard",
                    "regulator": "regulator_portal.dashboard"}.get(kind, "public.home"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    nxt = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if signed_in() is not None:
            return redirect(nxt or home_for(signed_in().kind))
        return render_template("portal/login.html", failure=None, email="", next=nxt)
    email = users.normalise_email(request.form.get("email", ""))[:254]
    password = request.form.get("password", "")
    wait = limits.login_wait(email)
    if wait is not None:
        minutes = max(1, (wait + 59) // 60)
        failure = Failure(_("Too many failed sign-ins for this email. Try again in %(n)d minutes.", n=minutes),
                          status=429)
        return render_template("portal/login.html", failure=failure, email=email, next=nxt), 429
    user, _unused = attempt(users.authenticate, email, password)
    if user is None:
        limits.login_failed(email)
        failure = Failure(_("The email or password is not right."),
                          {"email": [""], "password": [_("Check your email and password and try again.")]}, 401)
        return render_template("portal/login.html", failure=failure, email=email, next=nxt), 401
    limits.login_succeeded(email)
    lang = session.get("lang")
    session.clear()  # a fresh session at sign-in (no fixation); keep only the language choice
    if lang:
        session["lang"] = lang
    login_user(SignedIn(user))
    return redirect(nxt or home_for(user.org.kind))


@bp.route("/logout", methods=["POST"])
def logout():
    lang = session.get("lang")
    user = getattr(g, "portal_user", None)
    if user is not None:
        attempt(users.sign_out, user)  # every copy of this session's cookie stops working
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "success")
    return redirect(url_for("account.login"))


@bp.route("/language/<code>")
def language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")) or url_for("public.home"))


@bp.route("/link/<token>", methods=["GET", "POST"])
def link(token: str):
    """Accept an invitation or reset a password: choose a password, then sign in."""
    try:
        found = users.open_link(token)
    except NotFound:
        return render_template("portal/link.html", invalid=True, failure=None), 404
    purpose, email = found.purpose, found.user.email
    if request.method == "POST":
        password, again = request.form.get("password", ""), request.form.get("password_again", "")
        if password != again:
            failure = Failure(_("The two passwords differ."), {"password_again": [_("Type the same password twice.")]})
        else:
            _user, failure = attempt(users.redeem, token, password)
        if not failure:
            flash(_("Your password is set. Sign in with it."), "success")
            return redirect(url_for("account.login"))
        return render_template("portal/link.html", invalid=False, purpose=purpose, email=email, failure=failure), 422
    return render_template("portal/link.html", invalid=False, purpose=purpose, email=email, failure=None)


@bp.route("/account", methods=["GET", "POST"])
@page()
def account():
    user = g.portal_user
    if request.method == "POST":
        names = ("current_password", "new_password", "new_password_again")
        current, new, again = (request.form.get(k, "") for k in names)
        if new != again:
            failure = Failure(_("The two passwords differ."),
                              {"new_password_again": [_("Type the same password twice.")]})
        else:
            _unused, failure = attempt(users.change_password, user, current, new)
        if not failure:
            login_user(SignedIn(db.session.get(User, user.id)))  # this session stays signed in; others end
            flash(_("Your password is changed. Other sessions are signed out."), "success")
            return redirect(url_for("account.account"))
        return render_template("portal/account.html", user=user, failure=failure), 422
    return render_template("portal/account.html", user=user, failure=None)


def _managed_org(org_id: str | None) -> Organization:
    """The organization whose users the caller may manage: its own (admins) or one in the regulator's registry."""
    p = signed_in()
    org = get_visible(Organization, org_id or p.org_id, "organization")
    if not users.may_manage(g.portal_user.org, p.role or "member", org):
        raise NotFound(f"no organization {org_id}")
    return org


def _invite(org: Organization, form) -> tuple[str, User]:
    user = users.create(org, form.get("email", ""), form.get("name", ""), form.get("role", "member"),
                        signed_in().actor)
    return users.issue_link(user, "invite", signed_in().actor), user


@bp.route("/users", methods=["GET", "POST"])
@page("insurer", "exchange", "regulator")
def users_page():
    p = signed_in()
    org_id = request.values.get("org") or p.org_id
    try:
        org = _managed_org(org_id)
    except NotFound:
        if p.role != "admin" and org_id == p.org_id:
            return render_template("portal/users.html", org=None, members=[], orgs=[], link=None, failure=None,
                                   roles=USER_ROLES, form={}), 403
        raise
    link_url, failure = None, None
    if request.method == "POST":
        result, failure = attempt(_invite, org, request.form)
        if not failure:
            token, user = result
            link_url = url_for("account.link", token=token, _external=True)
            flash(_("%(email)s is invited. Give them this one-time link; it is shown only now.", email=user.email),
                  "success")
    orgs = []
    if p.kind == "regulator":
        orgs = db.session.scalars(visible(Organization).where(Organization.kind != "custodian")
                                  .order_by(Organization.kind, Organization.name)).all()
    status = 422 if failure else 200
    resp = make_response(render_template("portal/users.html", org=org, members=users.members(org.id), orgs=orgs,
                                         link=link_url, failure=failure, roles=USER_ROLES,
                                         form=request.form if failure else {}), status)
    if link_url:
        resp.headers["Cache-Control"] = "no-store"  # the one-time link is shown once
    return resp


def _member(user_id: str) -> User:
    user = users.get(user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    _managed_org(user.org_id)
    return user


@bp.route("/users/<user_id>/reset", methods=["POST"])
@page("insurer", "exchange", "regulator")
def reset_user(user_id: str):
    user = _member(user_id)
    token, failure = attempt(users.issue_link, user, "reset", signed_in().actor)
    if failure:
        flash(failure.message, "error")
        return redirect(url_for("account.users_page", org=user.org_id))
    link_url = url_for("account.link", token=token, _external=True)
    resp = make_response(render_template("portal/link_issued.html", user=user, link=link_url))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/users/<user_id>/role", methods=["POST"])
@page("insurer", "exchange", "regulator")
def user_role(user_id: str):
    user = _member(user_id)
    _unused, failure = attempt(users.set_role, user, request.form.get("role", ""), g.portal_user)
    flash(failure.message if failure else _("Role changed."), "error" if failure else "success")
    return redirect(url_for("account.users_page", org=user.org_id))


@bp.route("/users/<user_id>/disable", methods=["POST"])
@page("insurer", "exchange", "regulator")
def disable_user(user_id: str):
    user = _member(user_id)
    _unused, failure = attempt(users.disable, user, g.portal_user)
    flash(failure.message if failure else _("User disabled."), "error" if failure else "success")
    return redirect(url_for("account.users_page", org=user.org_id))

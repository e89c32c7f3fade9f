"""Portal sessions (flask-login): who is signed in, and the principal their organization acts as.

The session keeps the user id and the user's session version; a password change or reset bumps the
version, which signs out every other session of that user. A signed-in user acts with the scopes its
organization's API clients may hold (`auth.scopes.BY_KIND`), under the same tenancy rules.
"""

from __future__ import annotations

from flask import Flask, g
from flask_login import LoginManager, UserMixin, current_user

from ..auth import scopes as scope_rules
from ..auth import users
from ..auth.models import User
from ..web.guard import Principal


class SignedIn(UserMixin):
    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_version}"


def principal_of(user: User) -> Principal:
    org = user.org
    return Principal(org.id, org.kind, org.jurisdiction, org.name, user.email,
                     frozenset(scope_rules.BY_KIND.get(org.kind, ())), via="user", role=user.role)


def install(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "account.login"
    manager.session_protection = "basic"

    @manager.user_loader
    def _load(session_id: str):
        user_id, _, version = (session_id or "").partition(":")
        user = users.get(user_id)
        if user is None or user.disabled_at is not None or str(user.session_version) != version:
            return None
        return SignedIn(user)

    @app.before_request
    def _principal():
        # per-request state starts empty even where an app context outlives a request (tests hold one)
        g.pop("principal", None)
        g.pop("portal_user", None)
        g.pop(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
        g.pop("_login_user", None)
        if current_user.is_authenticated:
            g.principal = principal_of(current_user.user)
            g.portal_user = current_user.user

"""CSRF on every portal form (flask-wtf), session cookie settings, and the navigation each kind sees.

The API and OAuth endpoints authenticate with bearer tokens, not cookies, so they are not CSRF-checked;
every portal page's state-changing request is, including the public verify form.
"""

from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFProtect

from ..web.pages import signed_in

SAFE = ("GET", "HEAD", "OPTIONS")
PAGE_BLUEPRINTS: set[str] = set()  # filled by marketplace.portal.install

# (organization kind, endpoint, label): a link appears once its page exists
NAV = (
    ("insurer", "insurer_portal.dashboard", _l("Dashboard")),
    ("insurer", "market_pages.offerings", _l("Offerings")),
    ("insurer", "market_pages.incoming", _l("Requests")),
    ("insurer", "policies_pages.policies", _l("Policies")),
    ("insurer", "attestations_pages.gaps", _l("Attestations")),
    ("insurer", "keys_pages.keys", _l("Signing keys")),
    ("insurer", "certificates_pages.certificates", _l("Certificates")),
    ("exchange", "exchange_portal.dashboard", _l("Dashboard")),
    ("exchange", "reports_pages.reports", _l("Reports")),
    ("exchange", "market_pages.search", _l("Market")),
    ("exchange", "market_pages.my_requests", _l("Requests")),
    ("exchange", "allocations_pages.cover", _l("Cover")),
    ("exchange", "certificates_pages.certificates", _l("Certificates")),
    ("exchange", "exchange_portal.alerts", _l("Alerts")),
    ("regulator", "regulator_portal.dashboard", _l("Dashboard")),
    ("regulator", "registry_pages.organizations", _l("Registry")),
    ("regulator", "rulesets_pages.rulesets", _l("Rule-sets")),
    ("regulator", "certificates_pages.certificates", _l("Certificates")),
    ("regulator", "regulator_portal.supervision", _l("Supervision")),
    ("regulator", "public.verify", _l("Verify")),
)


def nav_for(kind: str | None) -> list[tuple[str, str, bool]]:
    """(url, label, current) for each page of this kind that exists."""
    out = []
    for k, endpoint, label in NAV:
        if k == kind and endpoint in current_app.view_functions:
            out.append((url_for(endpoint), str(label), request.endpoint == endpoint))
    return out


def install(app: Flask) -> None:
    production = app.config.get("ENV_NAME") == "production"
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked below, for pages only
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", 8 * 3600)
    if production or app.config.get("FORCE_HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    csrf = CSRFProtect(app)

    @app.before_request
    def _csrf():
        # every portal page (its blueprints are listed as they are registered); a request routed nowhere
        # changes nothing and gets its 404/405
        if request.method not in SAFE and request.blueprint in PAGE_BLUEPRINTS:
            csrf.protect()

    app.jinja_env.globals.update(nav_for=nav_for, signed_in=signed_in,
                                 has_page=lambda endpoint: endpoint in current_app.view_functions)

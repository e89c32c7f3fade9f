"""The portal: server-rendered pages for insurers, exchanges, regulators and the public, over the same
services and tenancy rules as the API. `install(app)` is create_app's one call.

The shell lives here (sign-in, accounts and users, language, CSRF, error pages, dashboards); each
feature keeps its own pages in its `views.py` (blueprint `<feature>_pages`), listed in FEATURE_PAGES.
"""

from __future__ import annotations

import importlib

from flask import Flask

FEATURE_PAGES = (
    "marketplace.portal.public",
    "marketplace.portal.account",
    "marketplace.portal.insurer",
    "marketplace.portal.exchange",
    "marketplace.portal.regulator",
    "marketplace.market.views",
    "marketplace.policies.views",
    "marketplace.attestations.views",
    "marketplace.keys.views",
    "marketplace.obligations.views",
    "marketplace.reports.views",
    "marketplace.allocations.views",
    "marketplace.certificates.views",
    "marketplace.registry.views",
    "marketplace.rulesets.views",
    "marketplace.auth.views",
    "marketplace.supervision.views",
)


def install(app: Flask) -> None:
    from . import errors, forms, i18n, session

    i18n.install(app)
    session.install(app)
    forms.install(app)
    errors.install(app)
    for dotted in FEATURE_PAGES:
        bp = importlib.import_module(dotted).bp
        app.register_blueprint(bp)
        forms.PAGE_BLUEPRINTS.add(bp.name)

"""Response security: headers on every answer (flask-talisman), and answers that carry a secret.

A view whose answer carries a secret says so with `@shown_once("field", remedy=...)`: the answer gets
`Cache-Control: no-store`, and an Idempotency-Key replay of it (`web.idempotency`) has those fields
removed and a `Secret-Redacted` header saying why, because the secret is shown once and stored nowhere.
"""

from __future__ import annotations

import functools
import json

from flask import Flask, Response, request
from flask_talisman import Talisman

REDACTED_HEADER = "Secret-Redacted"
_MARK = "marketplace.secret_fields"  # on the request: `g` outlives it when a test holds an app context

# Swagger UI (/api/docs) is served from our own assets; its one inline script carries the nonce
# (templates/swagger_ui.html) and it sets inline style attributes and data: images.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def shown_once(*fields: str, remedy: str):
    """Mark a view whose JSON answer carries these top-level secret fields; `remedy` tells a client that
    lost the secret what to do (for example "create a new client")."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            request.environ[_MARK] = (fields, remedy)
            return fn(*args, **kwargs)

        return wrapper

    return decorate


def carries_secret() -> bool:
    return request.environ.get(_MARK) is not None


def redacted(resp: Response) -> tuple[bytes, dict[str, str]]:
    """The body to keep instead of this answer's (secret fields removed) and the header that says so."""
    fields, remedy = request.environ[_MARK]
    note = f'{", ".join(fields)}; reason="shown once and not stored: {remedy} if it was lost"'
    try:
        body = json.loads(resp.get_data())
    except ValueError:
        return b"", {REDACTED_HEADER: note}  # not JSON: keep nothing of it
    if isinstance(body, dict):
        for f in fields:
            body.pop(f, None)
    return json.dumps(body).encode(), {REDACTED_HEADER: note}


def install(app: Flask) -> None:
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:  # behind N reverse proxies: the client's address (rate limits count by it) and scheme
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    https = bool(app.config.get("FORCE_HTTPS"))
    Talisman(app, force_https=https, session_cookie_secure=https, strict_transport_security=https,
             content_security_policy=CSP, content_security_policy_nonce_in=["script-src"],
             frame_options="DENY", referrer_policy="no-referrer")

    @app.after_request
    def _no_store(resp: Response) -> Response:
        if carries_secret():
            resp.headers["Cache-Control"] = "no-store"
            resp.headers["Pragma"] = "no-cache"
        return resp


def plain_http_ok(view):
    """Exempt a view from FORCE_HTTPS: probes and scrapers inside the deployment (health checks, Prometheus)
    talk plain HTTP to the container, and a redirect would read as "down"."""
    view.talisman_view_options = {**getattr(view, "talisman_view_options", {}), "force_https": False}
    return view

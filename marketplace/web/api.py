"""flask-smorest Api: OpenAPI 3.1 at /api/openapi.json, docs at /api/docs (assets served locally).

The document states what the service really answers: every error is RFC 9457 `application/problem+json`
(`web.problems`), and each operation lists the error statuses its path, body and security can produce
(`ProblemResponses`); `default` covers the rest.
"""

from __future__ import annotations

import http

import marshmallow as ma
from apispec import BasePlugin
from flask import Blueprint, Flask, send_from_directory
from flask_smorest import Api as SmorestApi
from flask_smorest.utils import prepare_response

from .problems import PROBLEM
from .schemas import ProblemSchema

BODY_METHODS = ("post", "put", "patch")
OPERATION_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Problem(ProblemSchema):
    """RFC 9457 problem details. `type`, `title` and `status` are always present; extension members
    (RFC 9457 section 3.2) such as `current_state` may follow."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(required=True, metadata={"description": "a URI reference; about:blank when none"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    errors = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "one entry per bad input: a JSON `pointer` into the body, or the `parameter` or "
                       "`header` it names, and a `detail`"})
    current_state = ma.fields.String(metadata={"description": "409: the state the resource is in"})


# Headers that come with some error statuses (documented on the shared responses).
ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"description": "RFC 6750 Bearer challenge", "required": True,
                               "schema": {"type": "string"}}},
    405: {"Allow": {"description": "the methods the resource supports", "required": True,
                    "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "seconds until the limit resets", "required": True,
                          "schema": {"type": "string"}}},
}


def error_statuses(method: str, path: str, op: dict, rate_limited: bool = False) -> list[int]:
    """The error statuses an operation can answer besides `default`, from how the web layer works:
    `requires` (401 no/invalid token, 403 scope or role; Idempotency-Key on POST: 400 malformed,
    409 in progress, 422 reused), `web.media` on bodies (400 bad JSON, 413, 415), webargs (422),
    `get_visible` on path ids (404), and `web.limits.limited` (429)."""
    secured = bool(op.get("security"))
    out = set()
    if secured:
        out |= {401, 403}
    if "{" in path:
        out.add(404)
    if method in BODY_METHODS:
        out |= {400, 413, 415, 422}
        if secured:
            out |= {404, 409}
    if op.get("parameters") and any(p.get("in") == "query" for p in op["parameters"] if isinstance(p, dict)):
        out.add(422)
    if rate_limited:
        out.add(429)
    return sorted(out)


def is_rate_limited(view) -> bool:
    """Whether `web.limits.limited` wraps the view: its wrapper's code, found down the __wrapped__ chain."""
    from .limits import POLICIES, limited

    code = limited(next(iter(POLICIES)))(lambda: None).__code__
    while view is not None:
        if getattr(view, "__code__", None) is code:
            return True
        view = getattr(view, "__wrapped__", None)
    return False


# What `idempotency.begin` accepts: str.isprintable() over a header value (HTTP headers are Latin-1).
PRINTABLE_LATIN1 = "^[\\x20-\\x7e\\xa1-\\xac\\xae-\\xff]+$"
IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "description": "Replays the stored answer for the same key and body (24 h, per client); "
                   "the same key with another body is 422, a key whose first request still runs is 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": PRINTABLE_LATIN1},
}


class ProblemResponses(BasePlugin):
    """apispec plugin: add each operation's error responses (shared problem+json components) and the
    Idempotency-Key header of authenticated POSTs."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app

    def operation_helper(self, path=None, operations=None, rule=None, **kwargs):
        view = self.app.view_functions.get(rule.endpoint) if rule is not None else None
        rate_limited = is_rate_limited(view)
        for method, op in (operations or {}).items():
            if method not in OPERATION_METHODS or not isinstance(op, dict):
                continue
            responses = op.setdefault("responses", {})
            have = {str(code) for code in responses}
            for status in error_statuses(method, path or "", op, rate_limited):
                if str(status) not in have:
                    responses[str(status)] = http.HTTPStatus(status).name
            op["responses"] = dict(sorted(responses.items(), key=lambda kv: (str(kv[0]) == "default", str(kv[0]))))
            if method == "post" and op.get("security"):
                params = op.setdefault("parameters", [])
                if not any(isinstance(p, dict) and p.get("name") == "Idempotency-Key" for p in params):
                    params.append(dict(IDEMPOTENCY_KEY))


class Api(SmorestApi):
    ERROR_SCHEMA = Problem

    def _register_error_handlers(self):
        """Errors are answered by marketplace.web.problems as RFC 9457 problem+json."""

    def _register_responses(self):
        """The shared responses, errors as application/problem+json (flask-smorest says application/json)."""
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                if status in ERROR_HEADERS:
                    response["headers"] = ERROR_HEADERS[status]
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error, as RFC 9457 problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def _docs_assets() -> Blueprint:
    # Swagger UI 5 (renders OpenAPI 3.1), as the flask-swagger-ui wheel vendors it: served by us, no CDN
    from pathlib import Path

    import flask_swagger_ui

    dist = Path(flask_swagger_ui.__file__).parent / "dist"
    bp = Blueprint("api_docs_assets", __name__)

    @bp.get("/api/docs/assets/<path:name>")
    def asset(name: str):
        return send_from_directory(dist, name, max_age=86400)

    return bp


def create_api(app: Flask, scopes: dict[str, str]) -> Api:
    app.config.update(
        API_TITLE="Reserve-offset marketplace API", API_VERSION="v1", OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json", OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
    )
    api = Api(app, spec_kwargs={
        "info": {"description": "Liability reserves, insurance offsets and certificates. "
                               "Errors are application/problem+json (RFC 9457)."},
        "extra_plugins": [ProblemResponses(app)],
    })
    api.spec.components.security_scheme("oauth2", {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": dict(scopes)}},
    })
    app.register_blueprint(_docs_assets())
    return api

"""flask-smorest Api: OpenAPI 3.1 at /api/openapi.json, docs at /api/docs (assets served locally)."""

from __future__ import annotations

from flask import Blueprint, Flask, send_from_directory
from flask_smorest import Api as SmorestApi

from ..auth.scopes import SCOPES
from .schemas import ProblemSchema


class Api(SmorestApi):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        """Errors are answered by marketplace.web.problems as RFC 9457 problem+json."""


def _docs_assets() -> Blueprint:
    import swagger_ui_bundle

    bp = Blueprint("api_docs_assets", __name__)

    @bp.get("/api/docs/assets/<path:name>")
    def asset(name: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, name, max_age=86400)

    return bp


def create_api(app: Flask) -> Api:
    app.config.update(
        API_TITLE="Reserve-offset marketplace API", API_VERSION="v1", OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json", OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
    )
    api = Api(app, spec_kwargs={"info": {"description": "Liability reserves, insurance offsets and certificates. "
                                                          "Errors are application/problem+json (RFC 9457)."}})
    api.spec.components.security_scheme("oauth2", {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": dict(SCOPES)}},
    })
    app.register_blueprint(_docs_assets())
    return api

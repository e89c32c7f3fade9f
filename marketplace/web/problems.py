"""RFC 9457 problem details for every error the app answers, including 404/405/413/415 and 500."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from ..errors import ServiceError

log = logging.getLogger("marketplace.errors")
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str | None = None, type_: str = "about:blank", **extra) -> Response:
    body = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v not in (None, {}, [])})
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    return resp


def _request_id() -> str:
    rid = request.environ.get("marketplace.request_id")
    if rid is None:
        supplied = request.headers.get("X-Request-ID", "")
        rid = supplied if 0 < len(supplied) <= 64 and supplied.replace("-", "").isalnum() else uuid.uuid4().hex
        request.environ["marketplace.request_id"] = rid
    return rid


def install(app: Flask) -> None:
    @app.before_request
    def _assign_request_id():
        _request_id()

    @app.after_request
    def _echo_request_id(resp: Response) -> Response:
        resp.headers["X-Request-ID"] = _request_id()
        return resp

    @app.errorhandler(ServiceError)
    def _service_error(e: ServiceError):
        return problem(e.status, e.title, e.detail, errors=e.errors, **e.extra)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        resp = problem(e.code or 500, e.name, e.description)
        if e.code == 405 and getattr(e, "valid_methods", None):
            resp.headers["Allow"] = ", ".join(e.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        from ..extensions import db

        db.session.rollback()
        log.exception("unhandled error (request id %s)", _request_id())
        return problem(500, "Internal server error",
                       f"Something went wrong on our side. Quote request id {_request_id()} when reporting it.",
                       request_id=_request_id())

"""RFC 9457 problem details for every error the app answers, including 404/405/413/415 and 500."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from ..errors import ServiceError

log = logging.getLogger("marketplace.errors")
PROBLEM = "application/problem+json"
# (wants_page, render(status, title, detail)): set by the portal so that browsers get error pages
PAGE_RENDERER = None


def problem(status: int, title: str, detail: str | None = None, type_: str = "about:blank", **extra) -> Response:
    body = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v not in (None, {}, [])})
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    return resp


def pointer_errors(messages, prefix: str = "#") -> list[dict]:
    """Flatten marshmallow messages ({"a": {"b": ["msg"]}}) into [{"pointer": "#/a/b", "detail": "msg"}]."""
    out: list[dict] = []
    if isinstance(messages, dict):
        for k, v in messages.items():
            sub = prefix if k == "_schema" else f"{prefix}/{str(k).lstrip('/')}"
            out += pointer_errors(v, sub)
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            out += [{"pointer": prefix, "detail": m} for m in messages]
        else:
            for m in messages:
                out += pointer_errors(m, prefix)
    else:
        out.append({"pointer": prefix, "detail": str(messages)})
    return out


def validation_errors(messages: dict) -> list[dict]:
    """webargs messages by location -> RFC 9457 style error entries naming each bad field."""
    out: list[dict] = []
    for location, fields in (messages or {}).items():
        if location in ("json", "form", "files"):
            out += pointer_errors(fields)
        else:
            kind = {"query": "parameter", "headers": "header", "view_args": "parameter"}.get(location, location)
            for e in pointer_errors(fields, ""):
                out.append({kind: e["pointer"].lstrip("/") or location, "detail": e["detail"]})
    return out


def service_errors(errors: dict | list) -> list[dict]:
    if isinstance(errors, list):
        return errors
    return pointer_errors(dict(errors.items()))


def from_exception(e: Exception) -> Response:
    if isinstance(e, ServiceError):
        return problem(e.status, e.title, e.detail, errors=service_errors(e.errors), **e.extra)
    code = getattr(e, "code", None) or 500
    data = getattr(e, "data", None) or {}
    if code == 422 and "messages" in data:
        errors = validation_errors(data["messages"])
        names = ", ".join(sorted({x.get("pointer") or x.get("parameter") or x.get("header") or "?" for x in errors}))
        return problem(422, "Validation failed", f"Invalid input: {names}", errors=errors)
    resp = problem(code, getattr(e, "name", "Error"), getattr(e, "description", None))
    if code == 405 and getattr(e, "valid_methods", None):
        resp.headers["Allow"] = ", ".join(e.valid_methods)
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

    def _page(status: int, title: str, detail: str | None):
        if PAGE_RENDERER is not None and PAGE_RENDERER[0]():
            return PAGE_RENDERER[1](status, title, detail)
        return None

    @app.errorhandler(ServiceError)
    def _service_error(e: ServiceError):
        return _page(e.status, e.title, e.detail) or from_exception(e)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        shown = _page(e.code or 500, e.name, e.description if (e.code or 500) in (403, 413, 429) else None)
        if shown is not None:
            return shown
        return from_exception(e)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        from ..extensions import db

        db.session.rollback()
        log.exception("unhandled error (request id %s)", _request_id())
        shown = _page(500, "Internal server error", f"Quote request id {_request_id()} when reporting it.")
        if shown is not None:
            return shown
        return problem(500, "Internal server error",
                       f"Something went wrong on our side. Quote request id {_request_id()} when reporting it.",
                       request_id=_request_id())

"""413 for oversized bodies, 415 for API request bodies in a media type the endpoint does not take."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from ..domain.jsontext import JSONTextError
from .problems import problem

CSV_PREFIX = "/api/v1/reports/"


def install(app: Flask) -> None:
    @app.before_request
    def _check_media_type():
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            from . import problems

            if problems.PAGE_RENDERER is not None and problems.PAGE_RENDERER[0]():  # a person's upload: a page
                return problems.PAGE_RENDERER[1](413, "Content too large", None)
            return problem(413, "Content too large", f"Request bodies are limited to {limit} bytes.")
        if not request.path.startswith("/api/v1/") or request.method not in ("POST", "PUT", "PATCH"):
            return None
        if not request.content_length and not request.headers.get("Transfer-Encoding"):
            return None
        allowed = {"application/json"} | ({"text/csv"} if request.path.startswith(CSV_PREFIX) else set())
        if request.mimetype not in allowed:
            return problem(415, "Unsupported media type",
                           f"Send {' or '.join(sorted(allowed))}, not {request.mimetype or 'an untyped body'}.")
        if request.mimetype == "application/json":
            return _refuse_unreadable_json()
        return None


def _refuse_unreadable_json():
    """Parse once with the app's safe JSON provider (cached for the view); say why a body is refused."""
    try:
        body = request.get_json()
    except BadRequest as e:
        cause = e  # Flask re-raises the parser's error inside two BadRequests; find it for the reason
        while cause is not None and not isinstance(cause, JSONTextError):
            cause = cause.__cause__ or cause.__context__
        reason = str(cause) if cause is not None else "it is not valid JSON"
        return problem(400, "Bad request", f"The body cannot be read: {reason}.")
    if body is None:
        return problem(400, "Bad request", "The body is JSON null; send an object.")
    return None

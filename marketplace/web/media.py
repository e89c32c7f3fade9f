"""413 for oversized bodies, 415 for API request bodies in a media type the endpoint does not take."""

from __future__ import annotations

from flask import Flask, request

from .problems import problem

CSV_PREFIX = "/api/v1/reports/"


def install(app: Flask) -> None:
    @app.before_request
    def _check_media_type():
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            return problem(413, "Content too large", f"Request bodies are limited to {limit} bytes.")
        if not request.path.startswith("/api/v1/") or request.method not in ("POST", "PUT", "PATCH"):
            return None
        if not request.content_length and not request.headers.get("Transfer-Encoding"):
            return None
        allowed = {"application/json"} | ({"text/csv"} if request.path.startswith(CSV_PREFIX) else set())
        if request.mimetype not in allowed:
            return problem(415, "Unsupported media type",
                           f"Send {' or '.join(sorted(allowed))}, not {request.mimetype or 'an untyped body'}.")
        if request.mimetype == "application/json" and request.get_json(silent=True) is None:
            return problem(400, "Bad request", "The body is not valid JSON.")
        return None

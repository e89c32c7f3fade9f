"""Error pages for people: a browser asking for a portal page gets HTML in its language, never JSON
and never a traceback; API clients keep RFC 9457 problem+json (web.problems)."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from ..web import problems

API_PATHS = ("/api/", "/oauth/", "/.well-known/", "/contexts/", "/metrics", "/healthz", "/readyz")


def wants_page() -> bool:
    if request.path.startswith(API_PATHS):
        return False
    best = request.accept_mimetypes.best_match([problems.PROBLEM, "application/json", "text/html"])
    return best == "text/html"


def page(status: int, title: str, detail: str | None):
    return render_template("portal/error.html", status=status, title=title, detail=detail), status


def install(app: Flask) -> None:
    def render(status: int, title: str, detail: str | None):
        titles = {400: _("Bad request"), 403: _("Not allowed"), 404: _("Page not found"),
                  405: _("Not allowed"), 413: _("File too large"), 422: _("Check your input"),
                  429: _("Too many attempts"), 500: _("Something went wrong")}
        if status == 413 and not detail:
            detail = _("The file is larger than the %(mb)d MB this site accepts. Choose a smaller file, or split it.",
                       mb=max(1, (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)))
        return page(status, titles.get(status, title), detail)

    problems.PAGE_RENDERER = (wants_page, render)

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError):
        if request.path.startswith(API_PATHS):
            return problems.problem(400, "Bad request", e.description)
        return page(400, _("This form has expired"),
                    _("The form was not sent from this site or is too old. Go back, reload the page and try again."))

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


# pages whose fields are opaque text checked by the verifier (whatever is pasted is an answer: "Invalid", why)
TAKES_ANY_TEXT = frozenset({"public.verify"})


def nul_fields() -> list[str]:
    """The query and form fields whose name or value holds a NUL (shown with the NUL as \\0)."""
    pairs = list(request.args.items(multi=True))
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        pairs += list(request.form.items(multi=True))
    return sorted({k.replace("\x00", "\\0") for k, v in pairs if "\x00" in k or "\x00" in v})


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

    @app.before_request
    def _refuse_nul():
        # Portal views read some form fields and query values as they come (sign-in's email, a form's back link);
        # PostgreSQL refuses a NUL in text, and no field takes one: refuse it here, naming the fields, before any
        # view or the database sees it. API requests are checked by their schemas (and /oauth/ by its client-id
        # shape, auth.server), which name each field in problem+json.
        if request.path.startswith(API_PATHS) or request.endpoint in TAKES_ANY_TEXT:
            return None
        fields = nul_fields()
        if not fields:
            return None
        return page(400, _("Check your input"), _("These fields contain a NUL character, which no field accepts: "
                                                  "%(fields)s. Remove it and try again.", fields=", ".join(fields)))

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError):
        if request.path.startswith(API_PATHS):
            return problems.problem(400, "Bad request", e.description)
        return page(400, _("This form has expired"),
                    _("The form was not sent from this site or is too old. Go back, reload the page and try again."))

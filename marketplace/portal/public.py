"""Pages anyone may open: the home page and the public verify page (DESIGN 7, the QR code's target).

The verify page is the verify API in HTML: the same verifier (`certificates.online.verify_online`, as
`POST /api/v1/verify` and `GET /api/v1/certificates/<id>/verification` run it), the same size limit and
the same rate limit. It reads what a person has: a pasted JWS, or a file (JWS, bundle JSON, or the
certificate's PDF with its bundle.json attachment). The answer leads with one word (Valid, Revoked or
Invalid), then what the certificate says, then every check in plain words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..certificates.models import Certificate
from ..certificates.online import stored, verify_online
from ..certificates.routes import MAX_VERIFY_BYTES
from ..verify import schema
from ..verify.cli import Unusable, read_input
from ..verify.core import Result, unreadable
from ..web import limits
from ..web.pages import Failure
from . import errors

bp = Blueprint("public", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/portal")

log = logging.getLogger("marketplace.portal")
MAX_UPLOAD_BYTES = 1024 * 1024  # a certificate's PDF is tens of KB; the request as a whole has its own cap
UUID_URN = "urn:uuid:"

# the verifier's checks (DESIGN 7), in plain words
CHECK_NAMES = {
    "signature": _l("Signature of the service"),
    "key_status": _l("Signing key"),
    "validity_period": _l("Validity period"),
    "revocation": _l("Revocation status"),
    "log_inclusion": _l("Transparency log"),
    "insurer_attestations": _l("Insurers' attestations"),
    "amounts": _l("Amounts add up"),
    "policies_current": _l("Policies still current"),
}
CHECK_MEANING = {
    "signature": _l("The certificate was signed by this service and has not been changed since."),
    "key_status": _l("The key that signed it is one of this service's published keys."),
    "validity_period": _l("Today falls within the period the certificate is valid for."),
    "revocation": _l("The certificate has not been revoked."),
    "log_inclusion": _l("The certificate is recorded in the public transparency log."),
    "insurer_attestations": _l("Each insurer signed the terms of its policy with its own key."),
    "amounts": _l("Insurance offset and net reserve add up from the cover listed."),
    "policies_current": _l("Every policy is still in force at the terms the insurer attested."),
}


@dataclass
class Answer:
    """What the page shows for one verification."""

    verdict: str                                  # "valid" | "revoked" | "invalid"
    checks: list[dict]
    subject: dict | None = None                   # the certificate's claims, only when its signature verified
    reason: str | None = None                     # the revocation in words ("revoked: policy … cancelled on …")
    revoked_at: datetime | None = None
    facts: dict = field(default_factory=dict)


def _day(text: str) -> date | str:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return text


def _moment(text: str) -> datetime | str:
    try:
        return schema.parse_time(text)
    except (TypeError, ValueError, AttributeError):
        return text


def answer(result: Result) -> Answer:
    """The verifier's result as the page tells it. Revoked: the signature holds and the revocation check
    says revoked; Valid: every check holds; anything else is Invalid."""
    by_name = {c["name"]: c for c in result.checks}
    signed = bool(by_name.get("signature", {}).get("ok"))
    revocation = by_name.get("revocation", {})
    revoked = signed and revocation.get("ok") is False and str(revocation.get("detail", "")).startswith("revoked")
    verdict = "valid" if result.valid else "revoked" if revoked else "invalid"
    checks = [{**c, "label": CHECK_NAMES.get(c["name"], c["name"]), "meaning": CHECK_MEANING.get(c["name"], "")}
              for c in result.checks]
    out = Answer(verdict, checks, reason=revocation.get("detail") if revoked else None)
    cred = result.credential
    if signed and isinstance(cred, dict):  # a verified signature implies the schema held (verify/core.py)
        s = cred["credentialSubject"]
        out.subject = s
        out.facts = {
            "id": cred["id"], "issuer": cred["issuer"],
            "valid_from": _moment(cred["validFrom"]), "valid_until": _moment(cred["validUntil"]),
            "start": _day(s["period"]["start"]), "end": _day(s["period"]["end"]),
        }
        if revoked:
            cert = stored(cred["id"].removeprefix(UUID_URN))
            out.revoked_at = cert.revoked_at if cert is not None else None
    return out


def _limited():
    """The verify API's rate limit, counted for the page too; a page (not JSON) when it is used up."""
    refused = limits.check("verify")
    if refused is None:
        return None
    retry = refused.headers.get("Retry-After", "60")
    body, status = errors.page(429, _("Too many attempts"),
                               _("Too many verifications from your address. Try again in %(n)s seconds.", n=retry))
    return body, status, {"Retry-After": retry}


def _form(failure: Failure | None = None, pasted: str = "", status: int = 200):
    return render_template("portal/public/verify.html", failure=failure, pasted=pasted, answer=None), status


def _shown(result: Result, status: int = 200):
    return render_template("portal/public/verify.html", failure=None, pasted="", answer=answer(result)), status


def _check(token: str, receipt=None) -> Result:
    """What POST /api/v1/verify answers for this certificate (and receipt)."""
    if len(token.encode("utf-8", "surrogatepass")) > MAX_VERIFY_BYTES:
        return unreadable(f"input larger than {MAX_VERIFY_BYTES} bytes")
    return verify_online(token, receipt)


@bp.route("/")
def home():
    return render_template("portal/public/home.html")


_ICON = (Path(__file__).parent / "static" / "favicon.svg").read_bytes()


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for it on any page without a <link rel="icon"> (a JSON answer, an error of a proxy):
    the portal's icon, not a 404 in their console."""
    return Response(_ICON, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    if request.method == "GET":
        return _form()
    refused = _limited()
    if refused is not None:
        return refused
    pasted = request.form.get("certificate", "").strip()
    upload = request.files.get("file")
    chosen = upload is not None and bool(upload.filename)
    if pasted and chosen:
        msg = _("Paste a certificate or choose a file, not both.")
        return _form(Failure(msg, {"certificate": [msg], "file": [""]}), pasted[:MAX_VERIFY_BYTES], 422)
    if chosen:
        raw = upload.stream.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            msg = _("The file is larger than %(n)s KB: choose the certificate's PDF, bundle or JWS file.",
                    n=MAX_UPLOAD_BYTES // 1024)
            return _form(Failure(msg, {"file": [msg]}), status=422)
        try:
            doc = read_input(raw, "the file")
        except Unusable as e:
            msg = _("This file cannot be read as a certificate (%(reason)s). Choose the certificate's PDF, its "
                    "bundle (JSON) or its JWS file.", reason=str(e))
            return _form(Failure(msg, {"file": [msg]}), status=422)
        except Exception as e:  # whatever a hostile file does to a parser: an answer next to the field, not a 500
            log.warning("verify page: unreadable upload (%s)", e.__class__.__name__)
            msg = _("This file cannot be read as a certificate.")
            return _form(Failure(msg, {"file": [msg]}), status=422)
        return _shown(_check(doc["certificate"], doc.get("receipt")))
    if not pasted:
        msg = _("Paste a certificate (the text starting with eyJ) or choose a file.")
        return _form(Failure(msg, {"certificate": [msg]}), status=422)
    return _shown(_check(pasted))


@bp.route("/verify/<certificate_id>")
def verify_stored(certificate_id: str):
    """The QR code's target: the answer for a stored certificate, by its id (bare uuid or urn:uuid:…)."""
    refused = _limited()
    if refused is not None:
        return refused
    cert: Certificate | None = stored(certificate_id.removeprefix(UUID_URN))
    if cert is None:
        abort(404)
    return _shown(verify_online(cert.jws))

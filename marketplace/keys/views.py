"""Portal pages of this feature (blueprint keys_pages): the insurer's attestation signing keys; registering its
own public key (a pasted Ed25519 JWK), asking the service to hold a custodial key, retiring a key. The same
service calls as the API (`attestations/routes.py`: POST /insurer-keys, /insurer-keys/custodial, .../retire)."""

from __future__ import annotations

import json
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..web.pages import Failure, attempt, page, signed_in
from . import service

bp = Blueprint("keys_pages", __name__, url_prefix="/keys", template_folder="templates")

MAX_JWK = 8192
MESSAGES = {
    "this key is registered to another organization": _l("This key is registered to another organization."),
    "the key must be an OKP JWK with crv Ed25519": _l("The key must be an Ed25519 key: \"kty\": \"OKP\", "
                                                      "\"crv\": \"Ed25519\"."),
    "send the public key only (no 'd')": _l("This JWK holds a private key (\"d\"). Paste the public key only, "
                                            "and treat this private key as exposed."),
    "x is not base64url": _l("\"x\" is not base64url."),
    "x must be 32 bytes": _l("\"x\" must be 32 bytes (43 base64url characters)."),
}
NOT_APPROVED = re.compile(r"(.+) is not approved by any regulator \((.*)\); an insurer must be approved before it "
                          r"can (.+)")


def _words(message: str) -> str:
    if message in MESSAGES:
        return str(MESSAGES[message])
    m = NOT_APPROVED.fullmatch(message)
    if m:
        return _("%(a)s is not approved by any regulator (%(b)s); an insurer must be approved before it can %(c)s.",
                 a=m.group(1), b=m.group(2), c=m.group(3))
    if message.startswith("unusable key: "):
        return _("This is not a usable Ed25519 public key: %(why)s", why=_words(message.removeprefix("unusable key: ")))
    return message


def _keys_page(form: dict, failure: Failure | None, status: int = 200):
    return render_template("keys/keys.html", keys=service.insurer_keys(signed_in().org_id), form=form,
                           failure=failure), status


@bp.route("/")
@page("insurer")
def keys():
    return _keys_page({}, None)


def _parse_jwk(text: str) -> tuple[dict | None, str | None]:
    if not text.strip():
        return None, _("Paste your public key as a JWK, e.g. {\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\": \"…\"}.")
    if len(text) > MAX_JWK:
        return None, _("This is too long for a public key (at most %(n)d characters).", n=MAX_JWK)
    try:
        jwk = json.loads(text)
    except ValueError:
        return None, _("This is not JSON. Paste the JWK as JSON, e.g. {\"kty\": \"OKP\", \"crv\": \"Ed25519\", "
                       "\"x\": \"…\"}.")
    if not isinstance(jwk, dict):
        return None, _("A JWK is a JSON object ({…}).")
    return jwk, None


@bp.route("/register", methods=["POST"])
@page("insurer")
def register():
    form = {"jwk": request.form.get("jwk", "")}
    jwk, problem = _parse_jwk(form["jwk"])
    if problem:
        return _keys_page(form, Failure(problem, {"jwk": [problem]}), 422)
    org_id = signed_in().org_id
    before = {k.kid for k in service.insurer_keys(org_id)}
    row, failure = attempt(service.register_insurer_key, org_id, jwk)
    if failure:
        why = [_words(m) for m in failure.fields.get("jwk", [])] or [_words(failure.message)]
        return _keys_page(form, Failure(_words(failure.message), {"jwk": why}), 422)
    if row.kid in before:
        flash(_("This key is already registered: %(kid)s.", kid=row.kid), "success")
    else:
        flash(_("Your public key is registered: %(kid)s. Sign attestations with its private half and paste them "
                "under Attestations.", kid=row.kid), "success")
    return redirect(url_for(".keys"))


@bp.route("/custodial", methods=["POST"])
@page("insurer")
def custodial():
    org_id = signed_in().org_id
    before = {k.kid for k in service.insurer_keys(org_id)}
    row, failure = attempt(service.custodial_insurer_key, org_id)
    if failure:
        message = _words(failure.message)
        return _keys_page({}, Failure(message, {}), 422)
    if row.kid in before:
        flash(_("The service already holds a custodial key for you: %(kid)s.", kid=row.kid), "success")
    else:
        flash(_("The service now holds a custodial key for you: %(kid)s. It signs only when you press Attest.",
                kid=row.kid), "success")
    return redirect(url_for(".keys"))


@bp.route("/<kid>/retire", methods=["POST"])
@page("insurer")
def retire(kid: str):
    row, failure = attempt(service.retire_insurer_key, signed_in().org_id, kid[:64])
    if failure:
        if failure.status == 404:
            abort(404)
        return _keys_page({}, Failure(_words(failure.message), {}), 422)
    flash(_("Key %(kid)s is retired: it still verifies what it signed, but signs nothing new.", kid=row.kid),
          "success")
    return redirect(url_for(".keys"))

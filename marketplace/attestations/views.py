"""Portal pages of this feature (blueprint attestations_pages): the policy revisions an insurer has not attested
yet, attesting them with the custodial key, or submitting a JWS signed offline with a registered key. The
same services and checks as the API (`routes.py`): `service.sign_custodially`, `service.submit`."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..errors import Forbidden
from ..extensions import db
from ..keys import service as keys
from ..policies import bulk
from ..policies import views as policy_views
from ..policies.models import Policy
from ..tenancy import get_visible, visible
from ..web.pages import Failure, attempt, flatten_messages, page, signed_in
from . import service
from .schemas import AttestationIn

bp = Blueprint("attestations_pages", __name__, url_prefix="/attestations", template_folder="templates")

policy_views.ATTESTATIONS.append(service.attested)  # the policy pages show each revision's attestation


def _insurers_policy(policy_id: str) -> Policy:
    p = get_visible(Policy, policy_id, "policy")
    if p.insurer_id != signed_in().org_id:
        raise Forbidden("only the policy's insurer attests it")
    return p


def _localised(failure: Failure) -> Failure:
    return Failure(bulk.words(failure.message), bulk.by_field(failure.fields), failure.status)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _registered_keys() -> list:
    return [k for k in keys.insurer_keys(signed_in().org_id) if k.private_wrapped is None and k.status == "active"]


def _gaps_page(failure: Failure | None = None, status: int = 200):
    gaps = db.session.scalars(service.without_attestation(visible(Policy))
                              .order_by(Policy.term_start, Policy.number)).all()
    exchanges = policy_views.service.insured_exchanges(p.insured_id for p in gaps)
    return render_template("attestations/gaps.html", gaps=gaps, exchanges=exchanges, failure=failure,
                           registered=_registered_keys()), status


@bp.route("/")
@page("insurer")
def gaps():
    return _gaps_page()


@bp.route("/<policy_id>/attest", methods=["POST"])
@page("insurer")
def attest(policy_id: str):
    """Sign the current revision with the insurer's custodial key (created on first use), as
    POST /api/v1/policies/{id}/attestations/custodial does."""
    pol = _insurers_policy(policy_id)
    number, revision = pol.number, pol.revision
    _unused, failure = attempt(service.sign_custodially, pol, signed_in().actor)
    if failure:
        return _gaps_page(_localised(failure), 422)
    flash(_("Revision %(revision)d of policy %(number)s is attested with your custodial key.", revision=revision,
            number=number), "success")
    return redirect(_safe_next(request.form.get("next")) or url_for(".gaps"))


@bp.route("/<policy_id>/payload.json")
@page("insurer")
def payload(policy_id: str):
    """Exactly what to sign for the current revision (`marketplace attest --key KEY.jwk --policy POLICY.json`)."""
    pol = get_visible(Policy, policy_id, "policy")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", pol.number)[:64] or "policy"
    return Response(json.dumps(service.payload_for(pol), indent=2, ensure_ascii=False) + "\n",
                    mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}-r{pol.revision}.json"'})


@bp.route("/<policy_id>/jws", methods=["GET", "POST"])
@page("insurer")
def submit(policy_id: str):
    """Submit a compact JWS signed offline with one of the insurer's registered keys (as POST
    /api/v1/policies/{id}/attestations): every mismatching field is named."""
    pol = _insurers_policy(policy_id)
    attested = service.current(pol)
    payload_text = json.dumps(service.payload_for(pol), indent=2, ensure_ascii=False)
    context = {"policy": pol, "attested": attested, "payload": payload_text, "registered": _registered_keys()}
    if request.method == "GET":
        return render_template("attestations/submit.html", form={}, failure=None, **context)
    form = {"jws": request.form.get("jws", "")}
    try:
        data = AttestationIn().load({"jws": re.sub(r"\s+", "", form["jws"])} if form["jws"].strip() else {})
    except ValidationError as e:
        failure = Failure(_("Check these fields: %(fields)s", fields=_("Signed attestation (JWS)")),
                          bulk.by_field(flatten_messages(e.messages)))
        return render_template("attestations/submit.html", form=form, failure=failure, **context), 422
    number, revision = pol.number, pol.revision
    _unused, failure = attempt(service.submit, pol, data["jws"], signed_in().actor)
    if failure:
        failure = _localised(failure)
        # every mismatching payload field is about the pasted JWS: show them next to it, by name
        fields = {"jws": [m if name in ("jws", "_form") else f"{name.split('/', 1)[-1]}: {m}"
                          for name, msgs in failure.fields.items() for m in msgs]} if failure.fields else {}
        return render_template("attestations/submit.html", form=form, failure=Failure(failure.message, fields),
                               **context), 422
    flash(_("Revision %(revision)d of policy %(number)s is attested with your registered key.", revision=revision,
            number=number), "success")
    return redirect(url_for(".gaps"))

"""Certificates API, status lists, platform JWKS, JSON-LD context, and the public verify API."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, json, request

from .. import uow
from ..db import utcnow
from ..errors import NotFound
from ..extensions import db
from ..keys import service as keys
from ..obligations.models import ObligationRecord
from ..tenancy import get_visible, visible
from ..tlog import sequencer
from ..verify.core import unreadable
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, principal, public, requires
from ..web.limits import limited
from ..web.pagination import paginate
from ..web.paths import INT32_MAX
from . import (
    access,  # noqa: F401  (registers the visibility rule)
    pdf,
    service,
    statuslists,
)
from .models import Certificate
from .online import stored, verify_online
from .schemas import (
    Bundle,
    CertificateOut,
    CertificatePage,
    CertificateQuery,
    IssueIn,
    StatusAtOut,
    StatusAtQuery,
    VerifyIn,
    VerifyOut,
)

bp = Blueprint("certificates", __name__, url_prefix="/api/v1", description="Signed certificates and verification")
wellknown = FlaskBlueprint("wellknown", __name__)
MAX_VERIFY_BYTES = 64 * 1024


@bp.route("/certificates", methods=["POST"])
@requires("certificates:write")
@bp.arguments(IssueIn)
@bp.response(201, CertificateOut)
def issue_certificate(data):
    """Issue a signed certificate (W3C VC 2.0, compact JWS) of the obligation's offset and net cash reserve.
    Only eligible allocations appear in its coverage; a new certificate supersedes the previous one.
    The answer carries the log receipt: the request waits for the sequencer's batch holding its entry
    (under a second normally; `receipt` is null only if the log is stalled, and then the certificate's
    GET and bundle carry it once the entry is in)."""
    me = acting_as("exchange")
    ob = get_visible(ObligationRecord, data["obligation"], "obligation")
    if ob.exchange_id != me.org_id:
        raise NotFound(f"no obligation {data['obligation']}")
    cert = service.issue(ob, principal().actor)
    # The answer shows the certificate as this request wrote it: without this, each commit below would
    # expire it and dumping it would read it back twice (what is committed is exactly what was written).
    db.session().expire_on_commit = False
    # Commit the issuance (and its queued log entry) now, then wait for the batch: the sequencer's work is a
    # unit of its own, and nothing after this commit may turn the answer into a failure.
    uow.current().commit()
    service.known_log_index(cert, sequencer.await_certificate(cert.id))
    return cert


@bp.route("/certificates", methods=["GET"])
@requires("certificates:read")
@bp.arguments(CertificateQuery, location="query")
@bp.response(200, CertificatePage)
def list_certificates(q):
    stmt = visible(Certificate).order_by(Certificate.created_at.desc(), Certificate.id)
    if "status" in q:
        stmt = stmt.where(Certificate.status == q["status"])
    return paginate(stmt, q["page"], q["per_page"])


@bp.route("/certificates/<certificate_id>", methods=["GET"])
@requires("certificates:read")
@bp.response(200, CertificateOut)
def get_certificate(certificate_id):
    """The JWS, the decoded credential, its status, and links to the bundle and the PDF."""
    return get_visible(Certificate, certificate_id, "certificate")


@bp.route("/certificates/<certificate_id>/bundle", methods=["GET"])
@requires("certificates:read")
@bp.response(200, Bundle)
def certificate_bundle(certificate_id):
    """Everything to verify offline: `marketplace verify bundle.json`."""
    cert = get_visible(Certificate, certificate_id, "certificate")
    return service.bundle(cert), {"Content-Disposition": f'attachment; filename="certificate-{cert.id}.json"'}


@bp.route("/certificates/<certificate_id>.pdf", methods=["GET"])
@requires("certificates:read")
@bp.doc(responses={"200": {"description": "one-page PDF; the offline bundle is attached as bundle.json",
                           "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def certificate_pdf(certificate_id):
    cert = get_visible(Certificate, certificate_id, "certificate")
    url = f"{current_app.config['BASE_URL']}/verify/{cert.id}"  # the public verify page (DESIGN 7)
    body = pdf.render(cert, service.bundle(cert), url)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="certificate-{cert.id}.pdf"'})


@bp.route("/certificates/<certificate_id>/status", methods=["GET"])
@requires("certificates:read")
@bp.arguments(StatusAtQuery, location="query")
@bp.response(200, StatusAtOut)
def certificate_status_at(q, certificate_id):
    """Regulators (DESIGN 10): valid or revoked at an instant, read from the transparency log alone, with the
    entries that prove it (issuance, and revocation if any), each with its RFC 9162 inclusion proof against
    the latest signed checkpoint."""
    import base64

    from sqlalchemy import select

    from ..domain import merkle
    from ..domain.supervision import LogRecord, status_at
    from ..tlog import service as tlog
    from ..tlog.models import LogEntry

    acting_as("regulator")
    cert = get_visible(Certificate, certificate_id, "certificate")
    at = q.get("at") or utcnow()
    rows = db.session.scalars(select(LogEntry).where(LogEntry.certificate_id == cert.id)
                              .order_by(LogEntry.idx)).all()
    st = status_at([LogRecord(r.idx, r.kind, bytes(r.data)) for r in rows], at)
    cp = tlog.latest()
    entries = []
    for r in st.evidence:
        covered = cp is not None and r.index < cp.tree_size
        entries.append({"index": r.index, "kind": r.kind, "data": base64.b64encode(r.data).decode(),
                        "leaf_hash": base64.b64encode(merkle.leaf_hash(r.data)).decode(),
                        "tree_size": cp.tree_size if covered else None,
                        "inclusion_proof": tlog.b64(tlog.inclusion(r.index, cp.tree_size)) if covered else None})
    return {"certificate": cert.id, "at": st.at, "status": st.status, "valid": st.valid, "detail": st.detail,
            "valid_from": st.valid_from, "valid_until": st.valid_until, "revoked_at": st.revoked_at,
            "reason": st.reason, "entries": entries, "checkpoint": cp.note if cp else None,
            "log_key": tlog.verifier_key()}


@bp.route("/certificates/<certificate_id>/verification", methods=["GET"])
@public
@limited("verify")
@bp.response(200, VerifyOut)
def certificate_verification(certificate_id):
    """Public: the verification of a stored certificate (the JSON twin of the page `/verify/<id>`, which the
    PDF's QR code opens)."""
    cert = stored(certificate_id)
    if cert is None:
        raise NotFound(f"no certificate {certificate_id}")
    return verify_online(cert.jws).as_dict()


@bp.route("/verify", methods=["POST"])
@public(transaction=False)  # one statement reads what must agree; a stale status list is re-signed on its own
@limited("verify")
@bp.arguments(VerifyIn)
@bp.response(200, VerifyOut)
def verify(data):
    """Public, rate-limited. Never 5xx for a bad certificate: `valid: false` with the reason."""
    if (request.content_length or 0) > MAX_VERIFY_BYTES:
        return unreadable(f"input larger than {MAX_VERIFY_BYTES} bytes").as_dict()
    return verify_online(data["certificate"], data.get("receipt")).as_dict()


@bp.route(f"/status-lists/<int(max={INT32_MAX}):list_id>", methods=["GET"])  # status_lists.id: INTEGER
@public
@bp.doc(responses={"200": {"description": "BitstringStatusListCredential as a compact JWS (typ vc+jwt)",
                           "content": {"application/vc+jwt": {"schema": {"type": "string"}}}}})
def status_list(list_id):
    """Public: the published status list. Cache-Control max-age is what remains of its `ttl`, so no cache
    keeps it past the moment a verifier would call it stale."""
    now = utcnow()
    token = statuslists.credential(list_id, now)
    if token is None:
        raise NotFound(f"no status list {list_id}")
    return Response(token, mimetype="application/vc+jwt",
                    headers={"Cache-Control": f"public, max-age={statuslists.seconds_left(list_id, now)}"})


@wellknown.get("/.well-known/jwks.json")
@public
def platform_jwks():
    """The platform's public keys, active and retired."""
    return Response(json.dumps(keys.platform_jwks()), mimetype="application/json",
                    headers={"Cache-Control": "public, max-age=300"})


@wellknown.get("/contexts/reserve-offset/v1")
@public
def jsonld_context():
    base = service.context_url() + "#"
    # not "name": the VC 2.0 context defines it (schema:name) and protects it, so redefining it here would
    # stop every JSON-LD processor at this context
    terms = ["ReserveOffsetCertificate", "licenseNumber", "jurisdiction", "period", "start", "end",
             "ruleset", "version", "digest", "currency", "obligation", "insuranceOffset", "netReserveRequired",
             "coverage", "policyNumber", "insurer", "allocated", "eligibleOffset", "attestation"]
    ctx = {"@context": {"@version": 1.1, "@protected": True, "ro": base,
                        **{t: {"@id": f"ro:{t}"} for t in terms}}}
    ctx["@context"]["insurer"] = {"@id": "ro:insurer", "@type": "@id"}
    return Response(json.dumps(ctx), mimetype="application/ld+json",
                    headers={"Cache-Control": "public, max-age=86400"})

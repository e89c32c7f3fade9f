from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..web.schemas import Instant, PageQuery, Strict


class IssueIn(Strict):
    obligation = ma.fields.String(required=True)


class StatusOut(ma.Schema):
    status = ma.fields.String()
    reason = ma.fields.String(attribute="revoked_reason", allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    status_list = ma.fields.Function(lambda c: c.credential["credentialStatus"]["statusListCredential"])
    index = ma.fields.Integer(attribute="status_index")


class CertificateOut(ma.Schema):
    id = ma.fields.String()
    obligation = ma.fields.String(attribute="obligation_id")
    exchange = ma.fields.String(attribute="exchange_id")
    period = ma.fields.String()
    kid = ma.fields.String()
    jws = ma.fields.String()
    credential = ma.fields.Dict()
    status = ma.fields.Function(lambda c: StatusOut().dump(c))
    valid_from = ma.fields.DateTime()
    valid_until = ma.fields.DateTime()
    links = ma.fields.Function(lambda c: {"bundle": f"/api/v1/certificates/{c.id}/bundle",
                                          "pdf": f"/api/v1/certificates/{c.id}.pdf",
                                          "verification": f"/api/v1/certificates/{c.id}/verification"})
    receipt = ma.fields.Method("_receipt")
    created_at = ma.fields.DateTime()

    def _receipt(self, c):
        from .service import receipt_for

        return receipt_for(c)


class CertificateSummary(CertificateOut):
    class Meta:
        exclude = ("jws", "credential", "receipt")


class CertificateQuery(PageQuery):
    status = ma.fields.String(validate=validate.OneOf(["valid", "revoked"]))


class CertificatePage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CertificateSummary))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()


class Bundle(ma.Schema):
    certificate = ma.fields.String()
    receipt = ma.fields.Dict(allow_none=True)
    logKey = ma.fields.String()
    platformJwks = ma.fields.Dict()
    insurerJwks = ma.fields.Dict()
    statusListCredential = ma.fields.String()
    statusListFetchedAt = ma.fields.String(metadata={"description": "RFC 3339; the status list's ttl counts from it"})


class VerifyIn(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    certificate = ma.fields.Raw(required=True, allow_none=True, metadata={"description": "the compact JWS"})
    receipt = ma.fields.Raw(allow_none=True, metadata={"description": "optional log receipt to check too"})


class CheckOut(ma.Schema):
    name = ma.fields.String()
    ok = ma.fields.Boolean(allow_none=True)
    detail = ma.fields.String()


class VerifyOut(ma.Schema):
    valid = ma.fields.Boolean()
    checks = ma.fields.List(ma.fields.Nested(CheckOut))


class StatusAtQuery(Strict):
    at = Instant(metadata={"description": "RFC 3339 instant (with 'Z' or an offset); default: now"})


class LogProofOut(ma.Schema):
    index = ma.fields.Integer(metadata={"description": "leaf index in the transparency log"})
    kind = ma.fields.String(metadata={"description": "issuance | revocation"})
    data = ma.fields.String(metadata={"description": "the entry's bytes, base64: leaf hash = SHA-256(0x00 || data)"})
    leaf_hash = ma.fields.String(metadata={"description": "base64"})
    tree_size = ma.fields.Integer(allow_none=True, metadata={"description": "size of the checkpoint proved against"})
    inclusion_proof = ma.fields.List(ma.fields.String(), allow_none=True,
                                     metadata={"description": "RFC 9162 audit path, base64 hashes; null: no signed "
                                                              "checkpoint covers the entry yet"})


class StatusAtOut(ma.Schema):
    certificate = ma.fields.String()
    at = ma.fields.DateTime()
    status = ma.fields.String(metadata={"description": "valid | revoked | not_yet_valid | expired | unknown"})
    valid = ma.fields.Boolean()
    detail = ma.fields.String()
    valid_from = ma.fields.DateTime(allow_none=True)
    valid_until = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    entries = ma.fields.List(ma.fields.Nested(LogProofOut))
    checkpoint = ma.fields.String(allow_none=True, metadata={"description": "the signed tree head (C2SP signed note) "
                                                                            "the proofs lead to"})
    log_key = ma.fields.String()

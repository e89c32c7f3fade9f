from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..web.schemas import Strict


class AttestationIn(Strict):
    jws = ma.fields.String(required=True, validate=validate.Length(min=1, max=65536))


class AttestationOut(ma.Schema):
    id = ma.fields.String()
    policy = ma.fields.String(attribute="policy_id")
    revision = ma.fields.Integer()
    kid = ma.fields.String()
    custodial = ma.fields.Boolean()
    jws = ma.fields.String()
    created_by = ma.fields.String()
    created_at = ma.fields.DateTime()


class AttestationList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AttestationOut))


class AttestationPayload(ma.Schema):
    policyNumber = ma.fields.String()
    insured = ma.fields.String()
    currency = ma.fields.String()
    limit = ma.fields.String()
    deductible = ma.fields.String()
    perils = ma.fields.List(ma.fields.String())
    termStart = ma.fields.String()
    termEnd = ma.fields.String()


class KeyIn(Strict):
    jwk = ma.fields.Dict(required=True, metadata={"description": "public OKP/Ed25519 JWK"})


class JwkOut(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    kty = ma.fields.String()
    crv = ma.fields.String()
    x = ma.fields.String()
    kid = ma.fields.String()
    use = ma.fields.String()
    alg = ma.fields.String()
    status = ma.fields.String()


class Jwks(ma.Schema):
    keys = ma.fields.List(ma.fields.Nested(JwkOut))

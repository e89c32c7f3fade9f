"""Schemas of the API-client endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..web.schemas import Strict


class ClientCreate(Strict):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    scopes = ma.fields.List(ma.fields.String(), metadata={"description": "default: every scope the org may hold"})


class ClientOut(ma.Schema):
    client_id = ma.fields.String()
    client_secret = ma.fields.String(metadata={"description": "shown once, never stored"})
    organization = ma.fields.String(attribute="org_id")
    name = ma.fields.String()
    scopes = ma.fields.Function(lambda c: c.scope.split())
    created_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)

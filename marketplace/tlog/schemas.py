from __future__ import annotations

import base64

import marshmallow as ma
from marshmallow import validate

from ..web.schemas import Strict

NONNEG = validate.Range(min=0)


class InclusionQuery(Strict):
    index = ma.fields.Integer(validate=NONNEG)
    leaf_hash = ma.fields.String(metadata={"description": "base64 SHA-256(0x00 || entry), instead of index"})
    tree_size = ma.fields.Integer(required=True, validate=validate.Range(min=1))

    @ma.validates_schema(skip_on_field_errors=False)
    def _one_of(self, data, **_):
        if ("index" in data) == ("leaf_hash" in data):
            raise ma.ValidationError({"index": ["give exactly one of index and leaf_hash"]})


class ConsistencyQuery(Strict):
    first = ma.fields.Integer(required=True, validate=validate.Range(min=1))
    second = ma.fields.Integer(required=True, validate=validate.Range(min=1))


class EntriesQuery(Strict):
    start = ma.fields.Integer(required=True, validate=NONNEG)
    end = ma.fields.Integer(required=True, validate=validate.Range(min=1))


class CheckpointsQuery(Strict):
    after = ma.fields.Integer(load_default=-1, validate=validate.Range(min=-1))


class InclusionOut(ma.Schema):
    leafIndex = ma.fields.Integer()
    treeSize = ma.fields.Integer()
    inclusionProof = ma.fields.List(ma.fields.String())


class ConsistencyOut(ma.Schema):
    first = ma.fields.Integer()
    second = ma.fields.Integer()
    consistencyProof = ma.fields.List(ma.fields.String())


class EntryOut(ma.Schema):
    index = ma.fields.Integer(attribute="idx")
    kind = ma.fields.String()
    data = ma.fields.Function(lambda e: base64.b64encode(e.data).decode())
    certificate = ma.fields.String(attribute="certificate_id", allow_none=True)


class EntriesOut(ma.Schema):
    entries = ma.fields.List(ma.fields.Nested(EntryOut))


class CheckpointOut(ma.Schema):
    treeSize = ma.fields.Integer(attribute="tree_size")
    checkpoint = ma.fields.String(attribute="note")


class CheckpointList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CheckpointOut))

from __future__ import annotations

import json

import marshmallow as ma
from marshmallow import validate

from ..web.schemas import Strict


class RuleSetDocument(ma.Schema):
    """A rule-set document, validated in full by the domain core (every problem named by JSON pointer)."""

    class Meta:
        unknown = ma.INCLUDE

    id = ma.fields.Raw(required=True)
    version = ma.fields.Raw(required=True)
    jurisdiction = ma.fields.Raw(required=True)
    title = ma.fields.Raw(required=True)
    effective_from = ma.fields.Raw(required=True)
    currency = ma.fields.Raw(required=True)
    params = ma.fields.Raw(required=True)


class RuleSetOut(ma.Schema):
    id = ma.fields.String(attribute="ruleset_id")
    version = ma.fields.String()
    jurisdiction = ma.fields.String()
    effective_from = ma.fields.Date()
    digest = ma.fields.String()
    published_at = ma.fields.DateTime()
    published_by = ma.fields.String(allow_none=True)
    document = ma.fields.Function(lambda r: json.loads(r.document))


class RuleSetSummary(RuleSetOut):
    class Meta:
        exclude = ("document",)


class RuleSetList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RuleSetSummary))


class RuleSetQuery(Strict):
    jurisdiction = ma.fields.String(validate=validate.Length(min=1, max=8))

from __future__ import annotations

import json

import marshmallow as ma
from marshmallow import validate

from ..domain.rulesets import sourced_count
from ..web.schemas import Strict

SOURCED = {"type": "object", "description": "how many parameters name a URL and section (count) of all (of)",
           "properties": {"count": {"type": "integer"}, "of": {"type": "integer"}}}


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
    sourced = ma.fields.Function(lambda r: sourced_count(json.loads(r.document)), metadata=SOURCED)


class RuleSetSummary(RuleSetOut):
    class Meta:
        exclude = ("document",)


class RuleSetList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RuleSetSummary))


class RuleSetQuery(Strict):
    jurisdiction = ma.fields.String(validate=validate.Length(min=1, max=8))


class RuleSetDiffQuery(Strict):
    from_ = ma.fields.String(data_key="from", required=True, validate=validate.Length(min=1, max=120),
                             metadata={"description": "ID@VERSION of the older version", "example": "JP-FSA-2026@1"})
    to = ma.fields.String(required=True, validate=validate.Length(min=1, max=120),
                          metadata={"description": "ID@VERSION of the newer version", "example": "JP-FSA-2026@2"})


class DiffRef(ma.Schema):
    id = ma.fields.String()
    version = ma.fields.String()
    digest = ma.fields.String()
    sourced = ma.fields.Dict(metadata=SOURCED)


class ParamEntry(ma.Schema):
    value = ma.fields.Raw(allow_none=True, metadata={"description": "as published"})
    source = ma.fields.String(allow_none=True)
    provisional = ma.fields.Boolean(allow_none=True)
    sourced = ma.fields.Boolean(metadata={"description": "the source names a URL and section"})


class HeaderChange(ma.Schema):
    field = ma.fields.String()
    old = ma.fields.Raw(allow_none=True)
    new = ma.fields.Raw(allow_none=True)


class KeyChange(ma.Schema):
    key = ma.fields.String()
    old = ma.fields.Raw(allow_none=True)
    new = ma.fields.Raw(allow_none=True)


class ParamAdded(ma.Schema):
    name = ma.fields.String()
    new = ma.fields.Nested(ParamEntry)


class ParamRemoved(ma.Schema):
    name = ma.fields.String()
    old = ma.fields.Nested(ParamEntry)


class ParamChanged(ma.Schema):
    name = ma.fields.String()
    parts = ma.fields.List(ma.fields.String(), metadata={"description": "of value, source, provisional"})
    old = ma.fields.Nested(ParamEntry)
    new = ma.fields.Nested(ParamEntry)
    keys = ma.fields.List(ma.fields.Nested(KeyChange), metadata={"description": "object values: keys that differ"})


class RuleSetDiffOut(ma.Schema):
    from_ = ma.fields.Nested(DiffRef, data_key="from")
    to = ma.fields.Nested(DiffRef)
    same = ma.fields.Boolean()
    header = ma.fields.List(ma.fields.Nested(HeaderChange))
    added = ma.fields.List(ma.fields.Nested(ParamAdded))
    removed = ma.fields.List(ma.fields.Nested(ParamRemoved))
    changed = ma.fields.List(ma.fields.Nested(ParamChanged))
    unchanged = ma.fields.List(ma.fields.String())

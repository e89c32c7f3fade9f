"""The API's Blueprint: flask-smorest's, with one schema object per arguments schema class.

webargs builds a new schema object on every request when a route names a schema class (`@bp.arguments(
SearchQuery)`): for a cached market search that was a tenth of its time in the worker. A marshmallow 4
schema keeps no per-call state on the object (load and dump take everything as arguments, and there is no
`context` any more), so one object per class serves every request and thread. The OpenAPI document still
names the class as the route gave it.
"""

from __future__ import annotations

import functools

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser


@functools.cache
def _instance(schema_class: type[ma.Schema]) -> ma.Schema:
    return schema_class()


class ArgumentsParser(FlaskParser):
    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _instance(argmap)
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ArgumentsParser()

"""Every JSON body the app reads goes through one parser that refuses hostile input before it recurses:
nesting deeper than MAX_DEPTH, unpaired surrogates (they cannot be stored or encoded), NaN/Infinity,
and numbers out of range (fractions become Decimal, never float)."""

from __future__ import annotations

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from ..domain import jsontext


class SafeJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        return jsontext.loads(s)


def install(app: Flask) -> None:
    provider = SafeJSONProvider(app)
    provider.sort_keys = False
    app.json = provider

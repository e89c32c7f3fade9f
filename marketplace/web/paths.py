"""Path parameters the database can take, else 422 naming the parameter.

Werkzeug's `int` converter takes any Unicode digits and any size, and an oversized number then
overflows the database driver; its default (string) converter takes a NUL, which PostgreSQL refuses
in any text. Our URL rules hand each converter its variable's name, so the refusal can say which
parameter was bad, like a query parameter's would.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.routing import IntegerConverter, Rule, UnicodeConverter

INT64_MAX = 2**63 - 1


class BadPathParameter(UnprocessableEntity):
    def __init__(self, name: str, detail: str):
        super().__init__(f"Invalid input: {name}")
        self.data = {"messages": {"view_args": {name: [detail]}}}


class BoundedInteger(IntegerConverter):
    regex = r"[0-9]+"
    variable = "id"

    def to_python(self, value: str) -> int:
        if len(value) > 19 or int(value) > INT64_MAX:
            raise BadPathParameter(self.variable, f"must be at most {INT64_MAX}")
        return int(value)


class Text(UnicodeConverter):
    """A path segment (an id, a name): any text but a NUL, which no stored text can hold (PostgreSQL refuses it)."""
    variable = "id"

    def to_python(self, value: str) -> str:
        if "\x00" in value:
            raise BadPathParameter(self.variable, "must not contain a NUL character")
        return value


class NamedConverterRule(Rule):
    def get_converter(self, variable_name, converter_name, args, kwargs):
        conv = super().get_converter(variable_name, converter_name, args, kwargs)
        conv.variable = variable_name
        return conv


def install(app: Flask) -> None:
    """Call before any route is registered."""
    app.url_rule_class = NamedConverterRule
    app.url_map.converters["int"] = BoundedInteger
    app.url_map.converters["default"] = app.url_map.converters["string"] = Text

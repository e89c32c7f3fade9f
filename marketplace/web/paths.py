"""Path parameters the database can take.

Werkzeug's `int` converter takes any Unicode digits and any size, and an oversized number then
overflows the database driver (or, past 32 bits, PostgreSQL's INTEGER): ours answers 422 naming the
parameter (our URL rules hand each converter its variable's name, so the refusal can say which
parameter was bad, like a query parameter's would). Its default (string) converter takes a NUL,
which PostgreSQL refuses in any text: ours matches no segment with one, so such a path is a 404,
as for an id that names nothing.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.routing import IntegerConverter, Rule, UnicodeConverter

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1  # an INTEGER column's largest value: `<int(max=INT32_MAX):name>` for ids stored in one


class BadPathParameter(UnprocessableEntity):
    def __init__(self, name: str, detail: str):
        super().__init__(f"Invalid input: {name}")
        self.data = {"messages": {"view_args": {name: [detail]}}}


class BoundedInteger(IntegerConverter):
    """At most 64 bits, or the rule's own `max` (an id stored in a 32-bit column must say so: PostgreSQL refuses a
    larger number in a comparison with one, where SQLite compares it)."""

    regex = r"[0-9]+"
    variable = "id"

    def to_python(self, value: str) -> int:
        limit = INT64_MAX if self.max is None else min(self.max, INT64_MAX)
        if len(value) > 19 or int(value) > limit:
            raise BadPathParameter(self.variable, f"must be at most {limit}")
        return int(value)


class Text(UnicodeConverter):
    """A path segment (an id, a name): any text but a NUL, which no stored text can hold (PostgreSQL refuses
    it). A segment with one matches no route: 404, as for any id that names nothing."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)  # sets the instance's regex ([^/] with the rule's lengths)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]", 1)


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

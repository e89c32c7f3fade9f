"""Every input schema, every field, every hostile shape: only ValidationError, never a crash (issue 11).

Built from the schema classes themselves, so a new schema or field is covered without a new test."""

import marshmallow as ma
import pytest
from marshmallow import validate

from marketplace.web.schemas import INT64_MAX, INT64_MIN, Strict

HOSTILE = [None, True, 0, -1, 2**64, -(2**64), 1.5, "", "x" * 20_000, "\x00", "a\r\nb", "\ud800", "２０２７", [],
           [None], [{}], {}, {"amount": {"x": 1}, "currency": "JPY"}, {"amount": "-1", "currency": "JPY"},
           {"amount": ["1"], "currency": ["JPY"]}, [[[]]]]


def all_input_schemas(sqlite_app):
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return sorted(set(subclasses(Strict)), key=lambda c: f"{c.__module__}.{c.__name__}")


def test_every_field_of_every_input_schema_survives_hostile_values(sqlite_app):
    schemas = all_input_schemas(sqlite_app)
    assert len(schemas) > 20
    tried = 0
    for cls in schemas:
        schema = cls()
        for field_name, field in schema.fields.items():
            if field.dump_only:
                continue
            key = field.data_key or field_name
            for value in HOSTILE:
                tried += 1
                try:
                    schema.load({key: value})
                except ma.ValidationError:
                    pass
                except Exception as e:
                    pytest.fail(f"{cls.__name__}.{key}={value!r:.40} raised {e.__class__.__name__}: {e}")
    assert tried > 1000


def test_every_integer_input_is_bounded_to_64_bits(sqlite_app):
    for cls in all_input_schemas(sqlite_app):
        for name, field in cls().fields.items():
            inner = field.inner if isinstance(field, ma.fields.List) else field
            if isinstance(inner, ma.fields.Integer):
                ranges = [v for v in inner.validators if isinstance(v, validate.Range)]
                assert any(r.min is not None and r.max is not None and r.min >= INT64_MIN and r.max <= INT64_MAX
                           for r in ranges), f"{cls.__name__}.{name}"
                with pytest.raises(ma.ValidationError):
                    inner.deserialize(2**63)


def test_every_string_input_is_bounded_and_refuses_control_characters(sqlite_app):
    for cls in all_input_schemas(sqlite_app):
        for name, field in cls().fields.items():
            inner = field.inner if isinstance(field, ma.fields.List) else field
            if isinstance(inner, ma.fields.String) and not field.dump_only:
                assert any(isinstance(v, validate.Length) and v.max for v in inner.validators), f"{cls.__name__}.{name}"
                with pytest.raises(ma.ValidationError):
                    inner.deserialize("bad\x00value")


def test_openapi_states_integer_bounds_and_non_negative_money(world, openapi_doc):
    doc = world.client.get("/api/openapi.json").json
    for path, item in doc["paths"].items():
        for op in item.values():
            for p in op.get("parameters", []) if isinstance(op, dict) else []:
                if p.get("schema", {}).get("type") == "integer":
                    assert "maximum" in p["schema"] and "minimum" in p["schema"], (path, p["name"])
    money = doc["components"]["schemas"]["NonNegativeMoney"]["properties"]["amount"]
    assert money["pattern"].startswith("^(0|") and not money["pattern"].startswith("^-")

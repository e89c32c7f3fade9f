"""Who may see what: one visibility rule per model, applied by the only lookups routes use.

Feature routes never query their models directly for a caller: they call `visible(Model)` (a select
already filtered to the caller) or `get_visible(Model, id)` (404 for anything the caller may not see,
exactly as for an id that does not exist). A model with no rule cannot be looked up at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.sql import ColumnElement

from .errors import NotFound
from .extensions import db
from .web.guard import Principal, principal

T = TypeVar("T")
RULES: dict[type, Callable[[Principal], ColumnElement[bool]]] = {}


def rule(model: type):
    """Register the visibility rule for `model`: a function of the principal returning a WHERE clause."""
    def register(fn):
        RULES[model] = fn
        return fn
    return register


def where(model: type) -> ColumnElement[bool]:
    try:
        fn = RULES[model]
    except KeyError:
        raise RuntimeError(f"{model.__name__} has no tenancy rule") from None
    return fn(principal())


def visible(model: type[T]) -> Select:
    return select(model).where(where(model))


def get_visible(model: type[T], ident, what: str | None = None) -> T:
    pk = model.__mapper__.primary_key[0]
    obj = db.session.scalar(visible(model).where(pk == ident)) if ident else None
    if obj is None:
        raise NotFound(f"no {what or model.__name__.lower()} {ident}")
    return obj

"""Who may see what: one visibility rule per model, applied by the only lookups routes use.

Feature routes never query their models directly for a caller: they call `visible(Model)` (a select
already filtered to the caller) or `get_visible(Model, id)` (404 for anything the caller may not see,
exactly as for an id that does not exist). A model with no rule cannot be looked up at all.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, String, bindparam, select
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
    return fn(_BUILDING.get() or principal())


@dataclass(frozen=True)
class _Bound:
    """The principal as rules see it while a statement is built once for every principal of its kind: its org id
    and jurisdiction are bind parameters (rules use them only in SQL; they branch on kind alone)."""
    kind: str
    org_id: object
    jurisdiction: object


ORG_ID, JURISDICTION = "tenancy_org_id", "tenancy_jurisdiction"
_BUILDING: ContextVar[_Bound | None] = ContextVar("tenancy_building", default=None)
_STATEMENTS: dict = {}


def statement_for_kind(key: Hashable, build: Callable[[], T]) -> tuple[T, dict]:
    """(statement, its parameters for the caller) for a hot statement whose WHERE uses rules: `build()` runs once per
    `key` and kind of principal (rules met while it runs see _Bound), so the statement is not built and its cache key
    not worked out again per request (that costs more than running a large one). A missing jurisdiction stays a
    literal None, so a rule comparing with it keeps the meaning it has for an unbound principal."""
    p = principal()
    slot = (key, p.kind, p.jurisdiction is None)
    stmt = _STATEMENTS.get(slot)
    if stmt is None:
        token = _BUILDING.set(_Bound(p.kind, bindparam(ORG_ID, type_=String),
                                     None if p.jurisdiction is None else bindparam(JURISDICTION, type_=String)))
        try:
            stmt = _STATEMENTS.setdefault(slot, build())
        finally:
            _BUILDING.reset(token)
    return stmt, {ORG_ID: p.org_id, JURISDICTION: p.jurisdiction}


def visible(model: type[T]) -> Select:
    return select(model).where(where(model))


def get_visible(model: type[T], ident, what: str | None = None) -> T:
    pk = model.__mapper__.primary_key[0]
    obj = db.session.scalar(visible(model).where(pk == ident)) if ident else None
    if obj is None:
        raise NotFound(f"no {what or model.__name__.lower()} {ident}")
    return obj

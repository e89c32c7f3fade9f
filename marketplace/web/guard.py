"""`requires(scope)`: the one decorator every API route carries.

It authenticates the bearer token (authlib), checks the scope and sets the calling principal. The work
then runs in one unit of work (marketplace.uow) wrapped by Idempotency-Key (web.idempotency): a success
commits, anything else rolls back, so a failed request leaves the database as it was. What happens after
a commit (nudging the queue) is the services' business, registered on the unit of work.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from authlib.oauth2.rfc6749.errors import MissingAuthorizationError
from authlib.oauth2.rfc6750.errors import InsufficientScopeError, InvalidTokenError
from flask import Response, current_app, g, make_response
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from ..domain.errors import DomainError
from ..errors import ServiceError
from ..extensions import db
from ..uow import outside_a_transaction, unit_of_work
from . import idempotency
from .problems import from_exception, problem


@dataclass(frozen=True)
class Principal:
    org_id: str
    kind: str
    jurisdiction: str | None
    name: str
    client_id: str  # an API client's id, or a portal user's email
    scopes: frozenset[str]
    via: str = "client"  # "client" (API token) or "user" (portal session)
    role: str | None = None  # portal users: "admin" or "member"

    @property
    def actor(self) -> str:
        return f"{self.via}:{self.client_id}"


def principal() -> Principal:
    p = g.get("principal")
    if p is None:
        raise RuntimeError("no authenticated principal: route lacks @requires")
    return p


def _unauthorized(detail: str, error: str | None) -> Response:
    resp = problem(401, "Unauthorized", detail)
    challenge = 'Bearer realm="marketplace"'
    if error:
        challenge += f', error="{error}"'
    resp.headers["WWW-Authenticate"] = challenge
    return resp


def _authenticate(scope: str) -> Response | None:
    protector = current_app.extensions["marketplace.protector"]  # registered by marketplace.auth.server
    try:
        token = protector.acquire_token([scope])
    except MissingAuthorizationError:
        return _unauthorized("A bearer token is required (POST /oauth/token).", None)
    except InvalidTokenError:
        db.session.rollback()
        return _unauthorized("The access token is invalid, expired or revoked.", "invalid_token")
    except InsufficientScopeError:
        db.session.rollback()
        return problem(403, "Forbidden", f"This action needs the scope {scope!r}.", required_scope=scope)
    except SQLAlchemyError:  # the database failed, not the token: a 5xx problem (web.problems), never a 401
        raise
    except Exception:  # malformed Authorization headers and other token-parsing failures
        db.session.rollback()
        return _unauthorized("The Authorization header is not a usable bearer token.", "invalid_request")
    org = token.org
    g.principal = Principal(org.id, org.kind, org.jurisdiction, org.name, token.client_id,
                            frozenset(token.scope.split()))
    return None


def _run(fn, args, kwargs) -> Response:
    try:
        return make_response(fn(*args, **kwargs))
    except (ServiceError, HTTPException) as e:
        return from_exception(e)
    except DomainError as e:  # a rule of the domain refused the input
        return problem(422, "Unprocessable content", str(e))


def _unit(fn, args, kwargs, record, transaction: bool = True) -> Response:
    """The request's unit of work: keep a success; drop the work of an error answer (its idempotent
    replay is still stored)."""
    with unit_of_work(transaction) as uow:
        resp = _run(fn, args, kwargs)
        if resp.status_code >= 400:
            uow.reset()
        record(resp)
    return resp


def _document(wrapper, scope: str | None):
    """State the route's security in the OpenAPI document and on the view (tests read both)."""
    doc = getattr(wrapper, "_apidoc", {})
    doc.setdefault("manual_doc", {})["security"] = [{"oauth2": [scope]}] if scope else []
    wrapper._apidoc = doc
    wrapper.required_scope = scope
    return wrapper


def requires(scope: str, *, transaction: bool = True):
    """`transaction=False`: a route that only reads, in one statement, runs without a transaction (the token's
    read too): as `public(transaction=False)`, uow.unit_of_work says when that is right."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not transaction:
                outside_a_transaction()
            denied = _authenticate(scope)
            if denied is not None:
                return denied
            return idempotency.guarded(g.principal.client_id,
                                       lambda record: _unit(fn, args, kwargs, record, transaction))

        return _document(wrapper, scope)

    return decorate


def acting_as(kind: str) -> Principal:
    """The principal, if its organization is of `kind`; otherwise 403 naming who may act."""
    from ..errors import Forbidden

    p = principal()
    if p.kind != kind:
        article = "an" if kind[0] in "aeiou" else "a"
        raise Forbidden(f"only {article} {kind} can do this; you act for a {p.kind}")
    return p


def public(fn=None, *, transaction: bool = True):
    """A route anyone may call (JWKS, status lists, verify): no token, same errors and unit of work.
    `@public(transaction=False)`: a route that changes nothing of its own runs without a transaction
    (uow.unit_of_work says when that is right)."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return _unit(fn, args, kwargs, lambda resp: None, transaction)

        return _document(wrapper, None)

    return decorate(fn) if fn is not None else decorate

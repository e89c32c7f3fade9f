"""Flask extensions, created unbound; create_app() binds them."""

from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from .db import Base
from .db.driver import Rows, fetch

db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def plain_rows(stmt, params: dict | None = None) -> Rows:
    """The rows of a SELECT built once at import, through the session's connection (its transaction, after
    flushing pending changes as autoflush would), without the ORM's result machinery: named tuples, never
    objects. For hot read paths; on PostgreSQL straight through the driver's cursor (db.driver)."""
    if db.session.new or db.session.dirty or db.session.deleted:
        db.session.flush()
    return fetch(db.session.connection(), stmt, params or {})

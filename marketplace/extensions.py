"""Flask extensions, created unbound; create_app() binds them."""

from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from .db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def plain_rows(stmt, params: dict | None = None):
    """A column query through the session's connection (its transaction, after flushing pending changes as
    autoflush would), without the ORM's result machinery: rows, never objects. For hot read paths."""
    if db.session.new or db.session.dirty or db.session.deleted:
        db.session.flush()
    return db.session.connection().execute(stmt, params or {})

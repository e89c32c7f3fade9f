from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..db.migrations import migration_state as db_migration_state
from ..extensions import db
from ..web.security import plain_http_ok

bp = Blueprint("health", __name__)


def migration_state() -> tuple[str | None, str | None]:
    """(revision the database is at, head revision of the migration scripts)."""
    return db_migration_state(db.engine, current_app.extensions["migrate"].directory)


@bp.get("/healthz")
@plain_http_ok
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@plain_http_ok
def readyz():
    try:
        current, head = migration_state()
    except Exception:
        current_app.logger.warning("readiness: database unreachable", exc_info=True)
        return jsonify(status="unavailable", database="unreachable"), 503
    if current != head:
        return jsonify(status="unavailable", database="reachable", migrations="behind",
                       current=current, head=head), 503
    return jsonify(status="ok", database="reachable", migrations="at head", revision=current)

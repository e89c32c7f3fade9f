from __future__ import annotations

from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify

from ..extensions import db
from ..web.security import plain_http_ok

bp = Blueprint("health", __name__)
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def migration_state() -> tuple[str | None, str | None]:
    """(revision the database is at, head revision of the migration scripts)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(current_app.extensions["migrate"].directory))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


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

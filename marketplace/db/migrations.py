"""Where the database stands against the code's migrations (readiness probe, worker and scheduler start)."""

from __future__ import annotations

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine


def migration_state(engine: Engine, directory: str) -> tuple[str | None, str | None]:
    """(revision the database is at, head revision of the scripts in `directory`). The first is None for
    an empty database; an unreachable one raises SQLAlchemyError, missing scripts alembic's CommandError."""
    cfg = Config()
    cfg.set_main_option("script_location", str(directory))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head

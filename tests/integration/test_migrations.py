"""The migration creates exactly the models' schema, on every backend, and readiness tracks it."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from marketplace.extensions import db
from marketplace.health.routes import migration_state


def test_schema_matches_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_database_is_at_head(app):
    current, head = migration_state()
    assert current == head is not None

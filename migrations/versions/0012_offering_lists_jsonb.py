"""offerings.perils and offerings.jurisdictions as jsonb on PostgreSQL (the market search reads them for
every listed offering; json would be parsed again each time). SQLite keeps JSON text: nothing to do.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 08:20:00

"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in ("perils", "jurisdictions"):
            op.execute(f"ALTER TABLE offerings ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in ("perils", "jurisdictions"):
            op.execute(f"ALTER TABLE offerings ALTER COLUMN {column} TYPE json USING {column}::json")

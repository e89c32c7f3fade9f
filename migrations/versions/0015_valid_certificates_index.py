"""certificates: a partial index on (exchange_id, period) of the valid ones. Each issuance looks up the
certificates it supersedes; through ix_certificates_exchange_id that read every certificate the exchange was
ever issued (each issuance revokes the one before), now only its valid ones.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

VALID = sa.text("status = 'valid'")


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('ix_certificates_valid_exchange_period', ['exchange_id', 'period'], unique=False,
                              postgresql_where=VALID, sqlite_where=VALID)


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_certificates_valid_exchange_period')

"""tlog_nodes: the index for finding a leaf by its hash covers the leaves only (no other level is looked up by
hash), and on PostgreSQL is a hash index. Every append adds a random hash to it; at 1e7 entries the b-tree over
every level's hashes (2e7 keys of 32 bytes) was what appends touched at random.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

LEAF = sa.text("level = 0")


def upgrade():
    with op.batch_alter_table('tlog_nodes', schema=None) as batch_op:
        batch_op.drop_index('ix_tlog_nodes_hash')
        batch_op.create_index('ix_tlog_nodes_leaf_hash', ['hash'], unique=False, postgresql_using='hash',
                              postgresql_where=LEAF, sqlite_where=LEAF)


def downgrade():
    with op.batch_alter_table('tlog_nodes', schema=None) as batch_op:
        batch_op.drop_index('ix_tlog_nodes_leaf_hash')
        batch_op.create_index('ix_tlog_nodes_hash', ['hash'], unique=False)

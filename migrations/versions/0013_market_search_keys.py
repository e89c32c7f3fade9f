"""market search keys: offerings.indicative_rate_e18 (the rate x 10^18, an exact integer SQL sorts by) with
an index on (status, indicative_rate_e18, id), and market_state.version, bumped by a trigger in every
transaction that changes offerings or organizations (the search caches its counts and answers keyed by it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 11:00:00

"""
from decimal import ROUND_FLOOR, Decimal

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# PostgreSQL: a deferred constraint trigger, so the one-row update (and its row lock) happens at commit, after
# every other lock the transaction takes (no lock-order deadlock), and only once per transaction.
PG_BUMP = """
CREATE FUNCTION market_state_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('marketplace.market_bumped', true) = txid_current()::text THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('marketplace.market_bumped', txid_current()::text, true);
  UPDATE market_state SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER offerings_market_state AFTER INSERT OR UPDATE OR DELETE ON offerings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION market_state_bump();
CREATE CONSTRAINT TRIGGER organizations_market_state AFTER UPDATE ON organizations
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION market_state_bump();
"""
SQLITE_BUMP = """
CREATE TRIGGER {table}_market_state_{event} AFTER {event} ON {table}
BEGIN UPDATE market_state SET version = version + 1 WHERE id = 1; END
"""
# SQLite drops a table's triggers when a later migration's batch_alter_table rebuilds it: such a migration on
# offerings or organizations must create these again.
# (table, event) pairs that move the version: an offering changes, an insurer's name shown on it changes
BUMPED_BY = [("offerings", "INSERT"), ("offerings", "UPDATE"), ("offerings", "DELETE"), ("organizations", "UPDATE")]


def _e18(rate: str) -> int:
    return int((Decimal(rate).scaleb(18)).to_integral_value(rounding=ROUND_FLOOR))


def upgrade():
    bind = op.get_bind()
    op.create_table('market_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_state'))
    )
    op.execute("INSERT INTO market_state (id, version) VALUES (1, 0)")
    with op.batch_alter_table('offerings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('indicative_rate_e18', sa.BigInteger(), nullable=True))
    if bind.dialect.name == "postgresql":
        op.execute("UPDATE offerings SET indicative_rate_e18 = floor(indicative_rate::numeric * 1e18)::bigint")
    else:
        for id_, rate in bind.execute(sa.text("SELECT id, indicative_rate FROM offerings")).all():
            bind.execute(sa.text("UPDATE offerings SET indicative_rate_e18 = :v WHERE id = :id"),
                         {"v": _e18(rate), "id": id_})
    with op.batch_alter_table('offerings', schema=None) as batch_op:
        batch_op.alter_column('indicative_rate_e18', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index('ix_offerings_status_rate', ['status', 'indicative_rate_e18', 'id'], unique=False)
    if bind.dialect.name == "postgresql":
        op.execute(PG_BUMP)
    else:
        for table, event in BUMPED_BY:
            op.execute(SQLITE_BUMP.format(table=table, event=event))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER organizations_market_state ON organizations")
        op.execute("DROP TRIGGER offerings_market_state ON offerings")
        op.execute("DROP FUNCTION market_state_bump()")
    else:
        for table, event in BUMPED_BY:
            op.execute(f"DROP TRIGGER {table}_market_state_{event}")
    with op.batch_alter_table('offerings', schema=None) as batch_op:
        batch_op.drop_index('ix_offerings_status_rate')
        batch_op.drop_column('indicative_rate_e18')
    op.drop_table('market_state')

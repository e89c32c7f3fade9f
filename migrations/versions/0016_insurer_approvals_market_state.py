"""market_state.version also moves when an insurer's standing with a regulator changes (an approval granted,
suspended or withdrawn, a regulator's rating): the market search then keeps every insurer's standing keyed
by that version, and a search reads the version alone (one row) instead of every standing.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 05:00:00

"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# the function market_state_bump() of 0013: once per transaction, at commit
PG_TRIGGER = """
CREATE CONSTRAINT TRIGGER insurer_approvals_market_state AFTER INSERT OR UPDATE OR DELETE ON insurer_approvals
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION market_state_bump();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER insurer_approvals_market_state_{event} AFTER {event} ON insurer_approvals
BEGIN UPDATE market_state SET version = version + 1 WHERE id = 1; END
"""
# SQLite drops a table's triggers when a later migration's batch_alter_table rebuilds it: such a migration on
# insurer_approvals must create these again.
EVENTS = ("INSERT", "UPDATE", "DELETE")
# Processes keep what they read keyed by the version. A database made again under the same URL (the test suite
# drops and migrates its schema many times in one process) started again at 0 and repeated versions whose
# cached reads belonged to the database before. The version moves on to the time of this migration in
# microseconds instead: past any version a database made earlier can have reached since (one change per µs).
PG_START = ("UPDATE market_state SET version = GREATEST(version + 1, "
            "(extract(epoch from clock_timestamp()) * 1000000)::bigint) WHERE id = 1")
SQLITE_START = ("UPDATE market_state SET version = max(version + 1, "
                "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE id = 1")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TRIGGER)
        op.execute(PG_START)
    else:
        for event in EVENTS:
            op.execute(SQLITE_TRIGGER.format(event=event))
        op.execute(SQLITE_START)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER insurer_approvals_market_state ON insurer_approvals")
    else:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER insurer_approvals_market_state_{event}")

"""market_state.version also moves when a rule-set version is published (or, never expected, changed or
removed): the market search keeps which versions are published, per jurisdiction, keyed by that version,
which it reads in the same statement as the insurers' standings.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 14:00:00

"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# the function market_state_bump() of 0013: once per transaction, at commit
PG_TRIGGER = """
CREATE CONSTRAINT TRIGGER ruleset_versions_market_state AFTER INSERT OR UPDATE OR DELETE ON ruleset_versions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION market_state_bump();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER ruleset_versions_market_state_{event} AFTER {event} ON ruleset_versions
BEGIN UPDATE market_state SET version = version + 1 WHERE id = 1; END
"""
# SQLite drops a table's triggers when a later migration's batch_alter_table rebuilds it: such a migration on
# ruleset_versions must create these again.
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TRIGGER)
    else:
        for event in EVENTS:
            op.execute(SQLITE_TRIGGER.format(event=event))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ruleset_versions_market_state ON ruleset_versions")
    else:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER ruleset_versions_market_state_{event}")

"""market_state.version names what a process keeps of the market (search.market, rule-set headers, totals,
answers). A database made again under the same URL (the suite drops and migrates its schema many times in one
process; so can a deployment) must not repeat a version the process has already seen with other data:
migration 0016 starts the count at the time of migrating, in microseconds."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.market import search
from marketplace.market.models import MarketState
from marketplace.registry.models import InsurerApproval, Organization
from tests.conftest import make_app, migrate_to_head


def _one_insurer_approved_in_jp(name: str) -> str:
    regulator = Organization(kind="regulator", name="FSA", jurisdiction="JP")
    insurer = Organization(kind="insurer", name=name, rating="A")
    db.session.add_all([regulator, insurer])
    db.session.flush()
    db.session.add(InsurerApproval(insurer_id=insurer.id, regulator_id=regulator.id, status="approved", rating="A"))
    db.session.commit()
    return insurer.id


def test_a_database_made_again_under_the_same_url_is_never_taken_for_the_one_before(tmp_path):
    path = tmp_path / "again.db"
    url = f"sqlite:///{path}"
    seen = []
    for attempt in ("first", "second"):
        path.unlink(missing_ok=True)
        migrate_to_head(url, tmp_path / f"migrate-{attempt}")
        app = make_app(url, tmp_path / f"instance-{attempt}")
        with app.app_context():
            start = db.session.scalar(select(MarketState.version))
            insurer = _one_insurer_approved_in_jp(f"{attempt} Mutual")  # the same writes: the same count of changes
            now = search.market("JP")
            assert set(now.standing) == {insurer}, (attempt, now.standing)  # never the first database's insurer
            assert search.market("JP") is now  # kept under its version: the next search reads the version only
            seen.append((start, now.version))
            db.session.remove()
            db.engine.dispose()
    (first_start, first_end), (second_start, second_end) = seen
    assert first_start < first_end < second_start < second_end

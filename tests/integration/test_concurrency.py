"""Racing writers with real threads and separate connections: never over-allocate, never oversell.

PostgreSQL (the deployment database) runs the full rounds; SQLite runs fewer (its writes serialise).
"""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.allocations import service as allocations
from marketplace.allocations.models import Allocation
from marketplace.domain.money import Money
from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.market import service as market
from marketplace.market.models import Offering
from marketplace.obligations.models import ObligationRecord
from marketplace.policies import service as policies
from marketplace.policies.models import Policy
from marketplace.registry import service as registry
from marketplace.registry.models import Organization
from tests.conftest import make_app

THREADS = 50


@pytest.fixture
def racer(demo, database_url, tmp_path):
    """A second app on the same database with a pool big enough for every thread to hold a connection."""
    opts = {"pool_size": THREADS + 5, "max_overflow": 5} if database_url.startswith("postgresql") else {}
    app = make_app(database_url, tmp_path, SQLALCHEMY_ENGINE_OPTIONS=opts)
    yield app
    with app.app_context():
        db.engine.dispose()


def rounds(database_url, pg, sqlite):
    return pg if database_url.startswith("postgresql") else sqlite


def race(app, fn, args_list):
    """Run fn(*args) in one thread each, started together; return how many succeeded."""
    barrier = threading.Barrier(len(args_list))
    ok, errors = [], []

    def worker(args):
        with app.app_context():
            try:
                barrier.wait()
                fn(*args)
                db.session.commit()
                ok.append(1)
            except Conflict:
                db.session.rollback()
            except Exception as e:  # anything else is a defect the test must show
                db.session.rollback()
                errors.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    return len(ok)


def _parties():
    return (registry.find_exchange("Kanto-FB-00099"),
            db.session.scalar(select(Organization).filter_by(name="Tokio Mutual Cyber")))


def test_fifty_attaches_of_ten_percent(demo, racer, database_url):
    ob_id = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=_parties()[0].org_id))
    for n in range(rounds(database_url, 20, 3)):
        ex, tokio = _parties()
        p = policies.create(tokio, ex, f"RACE-{n}", Money(1_000_000, "JPY"), Money(0, "JPY"), ["theft_hack"],
                            date(2026, 12, 1), date(2027, 12, 31), 90, "registered", "test")
        db.session.commit()
        pid = p.id

        def attach(pid=pid):
            ob = db.session.get(ObligationRecord, ob_id)
            allocations.attach(ob, pid, Money(100_000, "JPY"), "race")

        assert race(racer, attach, [()] * THREADS) == 10, f"round {n}"
        db.session.remove()
        total = db.session.scalar(select(func.sum(Allocation.amount)).filter_by(policy_id=pid, status="live"))
        assert total == 1_000_000


def test_racing_binds_never_oversell(demo, racer, database_url):
    for n in range(rounds(database_url, 5, 2)):
        ex, tokio = _parties()
        limit = Money(1_000, "JPY")
        o = market.create_offering(tokio, {
            "title": f"Race {n}", "perils": ["theft_hack"], "jurisdictions": ["JP"], "min_limit": limit,
            "max_limit": limit, "capacity": Money(10_000, "JPY"), "deductible": Money(0, "JPY"),
            "min_term_months": 12, "max_term_months": 12, "indicative_rate": Decimal("0.01"), "status": "listed"})
        ids = []
        for _ in range(THREADS):
            req = market.create_request(ex, o, limit, date(2027, 1, 1), 12, ["theft_hack"], None)
            market.quote(req, {"premium": Money(10, "JPY"), "expires_at": datetime.now(UTC) + timedelta(days=1)})
            market.accept(req)
            ids.append(req.id)
        offering_id = o.id
        db.session.commit()

        def bind(rid):
            from marketplace.market.models import CoverageRequest

            market.bind(db.session.get(CoverageRequest, rid), None, "race")

        assert race(racer, bind, [(rid,) for rid in ids]) == 10, f"round {n}"
        db.session.remove()
        offering = db.session.get(Offering, offering_id)
        assert offering.capacity_used == offering.capacity == 10_000
        bound = db.session.scalar(select(func.count()).select_from(Policy).where(Policy.number.like("MKT-%")))
        assert bound == 10 * (n + 1)

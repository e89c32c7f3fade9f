"""slots.assign() on SQLite and PostgreSQL (issue 15): a few random candidates checked in one indexed query
with no lock, never the list's every used index; still random, never a slot twice, a list closed once a recount
finds it half full. Small lists (64 entries) so that lists fill up within the test."""

from __future__ import annotations

from sqlalchemy import select, update

from marketplace.certificates import slots as slot_service
from marketplace.certificates.models import Certificate, StatusList
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.keys import service as keys
from marketplace.obligations.models import ObligationRecord
from tests.sql_statements import statements


def take(ob: ObligationRecord, kid: str, list_id: int, index: int) -> None:
    """What issuance stores after assign(): a certificate holding the slot (only the columns that matter)."""
    now = utcnow()
    db.session.add(Certificate(obligation_id=ob.id, exchange_id=ob.exchange_id, period="2027-Q1", kid=kid, jws="x",
                               credential={}, status_list_id=list_id, status_index=index, valid_from=now,
                               valid_until=now, created_by="test"))
    db.session.flush()


def test_assign_is_random_never_reuses_a_slot_and_opens_a_new_list_when_half_full(demo):
    ob = db.session.scalars(select(ObligationRecord)).first()
    kid = keys.platform_key().kid
    db.session.execute(update(StatusList).values(used=StatusList.size))  # the demo's lists count as full
    db.session.commit()
    before = set(db.session.scalars(select(StatusList.id)))
    slots: list[tuple[int, int]] = []
    reads: list[str] = []
    for _ in range(32 * 6):
        with statements() as seen:
            list_id, index = slot_service.assign(list_size=64)
        reads += [s for s in seen if "status_index" in s and "FROM certificates" in s]
        assert len(seen) <= 8, seen  # lookup + candidates; closing: recount, close, lookup, new list, candidates
        take(ob, kid, list_id, index)
        slots.append((list_id, index))
        db.session.commit()
    assert len(set(slots)) == len(slots)  # never a slot twice
    lists = sorted({lid for lid, _ in slots})
    assert len(lists) >= 4 and not set(lists) & before
    for lid in lists[:-1]:  # every list but the newest was closed
        used = [i for l2, i in slots if l2 == lid]
        assert 32 <= len(used) <= 48  # about half of 64 (probes, then a recount), then a new list
        assert all(0 <= i < 64 for i in used)
        assert used != sorted(used)  # not sequential (p of 32 random draws coming out sorted: ~1/32!)
        assert db.session.get(StatusList, lid).used == len(used)  # the recount's figure
    # random across the lists: both halves of the index range are used, and the lists differ
    every = [i for _, i in slots]
    assert any(i < 32 for i in every) and any(i >= 32 for i in every)
    assert len({tuple(sorted(i for l2, i in slots if l2 == lid)) for lid in lists}) > 1
    # each check of candidates names them: the used indexes of a list are never all read
    assert reads and all(" IN " in s.upper() for s in reads), reads[:3]


def test_candidates_are_checked_through_the_unique_index(demo):
    """EXPLAIN of the candidate query on PostgreSQL uses uq(status_list_id, status_index) (SQLite: its index)."""
    stmt = select(Certificate.status_index).where(Certificate.status_list_id == 1,
                                                  Certificate.status_index.in_([3, 5, 7]))
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    dialect = db.engine.dialect.name
    prefix = "EXPLAIN " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    db.session.execute(update(StatusList).values(used=0))
    with db.engine.connect() as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table would be scanned whatever the index
        plan = " ".join(str(r) for r in conn.exec_driver_sql(prefix + str(compiled)).all())
    assert "index" in plan.lower(), plan


def test_a_large_list_is_recounted_only_once_a_window_of_it_looks_half_full(demo):
    """A list larger than slots.SAMPLE: while a random window is clearly under half used, the probes' hint
    costs one window count, never the exact recount of every used slot; once the list is past half, the
    recount runs and closes it."""
    ob = db.session.scalars(select(ObligationRecord)).first()
    kid = keys.platform_key().kid
    db.session.execute(update(StatusList).values(used=StatusList.size))  # the demo's lists count as full
    size = 2 * slot_service.SAMPLE
    big = StatusList(size=size, bits=bytes(size // 8), used=0)
    db.session.add(big)
    db.session.commit()
    now = utcnow()
    rows = [{"id": f"00000000-0000-4000-8000-{i:012d}", "obligation_id": ob.id, "exchange_id": ob.exchange_id,
             "period": "2027-Q1", "kid": kid, "jws": "x", "credential": {}, "status_list_id": big.id,
             "status_index": i, "valid_from": now, "valid_until": now, "created_by": "test"}
            for i in range(0, size, 5)]  # 20% used, evenly spread: every window shows about 20%
    db.session.execute(Certificate.__table__.insert(), rows)
    db.session.commit()

    def counts(seen):
        return [s for s in seen if "count(" in s and "FROM certificates" in s]

    with statements() as seen:
        assert slot_service._close_if_half_full(big.id, size) is False
    assert len(counts(seen)) == 1 and "status_index >=" in counts(seen)[0]  # the window only
    more = [{**r, "id": f"00000000-0000-4000-9000-{i:012d}", "status_index": i}
            for i in range(size) if i % 5 and i % 5 != 3 for r in rows[:1]]  # now 80% used
    db.session.execute(Certificate.__table__.insert(), more)
    db.session.commit()
    with statements() as seen:
        assert slot_service._close_if_half_full(big.id, size) is True
    assert len(counts(seen)) == 2  # the window, then the exact recount
    db.session.commit()
    assert db.session.get(StatusList, big.id).used == len(rows) + len(more)
    assert slot_service.assign()[0] != big.id  # closed: new certificates go elsewhere

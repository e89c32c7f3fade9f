"""Status-list slots without a shared lock (certificates/slots.py): random, never reused, a list closed at
about half full, and two issuances that draw the same slot settle it through the unique constraint."""

from sqlalchemy import func, select, update

from marketplace.certificates import service as certificates
from marketplace.certificates import slots
from marketplace.certificates.models import Certificate, StatusList
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord


def test_issuances_fill_small_lists_randomly_never_reusing_a_slot(demo, monkeypatch):
    monkeypatch.setattr(slots, "LIST_SIZE", 64)
    db.session.execute(update(StatusList).values(used=StatusList.size))  # the demo's list counts as full
    ob = db.session.scalar(select(ObligationRecord).filter_by(superseded_at=None))
    made = [certificates.issue(ob, "test") for _ in range(80)]
    db.session.commit()
    pairs = [(c.status_list_id, c.status_index) for c in made]
    assert len(set(pairs)) == len(pairs)  # never the same slot twice
    per_list = dict(db.session.execute(select(Certificate.status_list_id, func.count())
                                       .where(Certificate.id.in_([c.id for c in made]))
                                       .group_by(Certificate.status_list_id)).all())
    assert len(per_list) >= 2  # 80 certificates do not fit in one list of 64 closed at half
    assert all(n <= 48 for n in per_list.values())  # closed at about half (probes, then a recount)
    first = sorted(i for lid, i in pairs if lid == min(per_list))
    assert first != list(range(len(first)))  # not sequential
    closed = db.session.get(StatusList, min(per_list))
    assert closed.used * 2 >= closed.size  # the recount marked it full


def test_a_slot_drawn_twice_is_settled_by_the_unique_constraint(demo, monkeypatch):
    ob = db.session.scalar(select(ObligationRecord).filter_by(superseded_at=None))
    first = certificates.issue(ob, "test")
    db.session.commit()
    real, calls = slots.assign, []

    def collide(list_size=None):  # the first draw is a slot another issuance has just taken
        calls.append(1)
        return (first.status_list_id, first.status_index) if len(calls) == 1 else real(list_size)

    monkeypatch.setattr(slots, "assign", collide)
    second = certificates.issue(ob, "test")
    db.session.commit()
    assert len(calls) == 2 and (second.status_list_id, second.status_index) != (first.status_list_id,
                                                                                first.status_index)
    assert second.credential["credentialStatus"]["statusListIndex"] == str(second.status_index)
    assert db.session.get(Certificate, first.id).status == "revoked"  # superseded, slot kept


def test_a_revoked_bit_lands_where_the_w3c_list_numbers_it(demo):
    """set_revoked sets bit i counted from the left of the first byte (W3C Bitstring Status List), on SQLite
    (in Python) and PostgreSQL (set_bit in place, which counts from the right within a byte), and withdraws
    the published text."""
    from marketplace.certificates import statuslists
    from marketplace.crypto import bitstring

    size = 64
    sl = StatusList(size=size, bits=bytes(size // 8), used=0, published="old", published_at=None)
    db.session.add(sl)
    db.session.commit()
    before = sl.lock_version
    expected = bytearray(size // 8)
    for i in (0, 7, 8, 13, 62, 63):
        statuslists.set_revoked(sl.id, i)
        bitstring.set_bit(expected, i)
    db.session.commit()
    db.session.expire_all()
    got = db.session.get(StatusList, sl.id)
    assert bytes(got.bits) == bytes(expected) and got.bits[0] == 0b1000_0001 and got.bits[1] == 0b1000_0100
    assert got.published is None and got.lock_version > before

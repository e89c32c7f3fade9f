"""An issuance superseding a certificate while another transaction revokes that same certificate (PostgreSQL,
real threads): the certificate is revoked exactly once, whichever wins. One revocation log entry, one
`certificate.revoked` event, its status bit set, and neither side fails (no deadlock, no duplicate).

The issuance revokes what it supersedes with one UPDATE whose sub-select locks the rows (issue 15); a plain
revocation takes the row with a conditional UPDATE. Of the two, exactly one may match `status = 'valid'`."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from marketplace.certificates.models import Certificate
from marketplace.events.models import Event
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.tlog.models import LogEntry, QueuedEntry
from tests import drills
from tests.integration.test_tlog_concurrency import issuers_app

PAIRS = 12


def _race(app, ob_id: str, cert_id: str, delay: float, outcomes: dict, errors: list) -> None:
    from marketplace.certificates import service as certificates
    from marketplace.uow import unit_of_work

    barrier = threading.Barrier(2)

    def side(key: tuple, work, wait: float) -> None:
        with app.app_context():
            try:
                barrier.wait(30)
                time.sleep(wait)  # the revoker starts later, staggered over the races: either side may come first
                with unit_of_work():
                    outcomes[key] = work()
            except Exception as e:  # reported by the test, with its type
                errors.append(repr(e))
            finally:
                db.session.remove()

    issue = lambda: certificates.issue(db.session.get(ObligationRecord, ob_id), "race").id  # noqa: E731
    revoke = lambda: certificates.revoke(db.session.get(Certificate, cert_id), "policy cancelled")  # noqa: E731
    threads = [threading.Thread(target=side, args=(("issued", cert_id), issue, 0.0)),
               threading.Thread(target=side, args=(("revoked", cert_id), revoke, delay))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)


def test_a_certificate_superseded_and_revoked_at_once_is_revoked_exactly_once(demo, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a race between transactions needs PostgreSQL (SQLite has one writer)")
    made = drills.add_certified_exchanges(PAIRS, prefix="RACE")
    obs = {m["certificate_id"]: db.session.scalar(select(ObligationRecord.id).filter_by(
        exchange_id=m["exchange_id"], superseded_at=None)) for m in made}
    db.session.remove()
    app = issuers_app(database_url, demo.instance_path, 4)
    outcomes, errors = {}, []
    for n, (cert_id, ob_id) in enumerate(obs.items()):
        _race(app, ob_id, cert_id, n * 0.006, outcomes, errors)
    with app.app_context():
        db.engine.dispose()
    assert errors == []

    wins = 0
    for cert_id in obs:
        old = db.session.get(Certificate, cert_id)
        assert old.status == "revoked"
        won_by_revoke = outcomes[("revoked", cert_id)]
        wins += won_by_revoke
        assert old.revoked_reason == ("policy cancelled" if won_by_revoke else
                                      f"superseded by certificate {outcomes[('issued', cert_id)]}")
        entries = sum(db.session.scalar(select(func.count()).select_from(model).where(
            model.certificate_id == cert_id, model.kind == "revocation")) for model in (LogEntry, QueuedEntry))
        assert entries == 1
        assert db.session.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "certificate.revoked", Event.subject_id == cert_id)) == 1
        sl_bits = db.session.execute(select(func.get_byte(db.text("bits"), old.status_index // 8))
                                     .select_from(db.text("status_lists")).where(db.text("id = :i"))
                                     .params(i=old.status_list_id)).scalar()
        assert sl_bits & (0x80 >> (old.status_index % 8))  # W3C order: bit 0 is the first byte's leftmost
        new = db.session.get(Certificate, outcomes[("issued", cert_id)])
        assert new.status == "valid"
    print(f"\n[supersede race] {PAIRS} races: the plain revocation won {wins}, the supersession {PAIRS - wins}")

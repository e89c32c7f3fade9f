"""8 processes issuing certificates at once on PostgreSQL: dense indexes, no duplicates, a clean audit."""

import multiprocessing as mp

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from marketplace.cli import marketplace_cli
from marketplace.extensions import db
from marketplace.tlog.models import LogEntry

PROCESSES, EACH = 8, 3


def _issue(url: str, instance: str, start, results) -> None:
    from marketplace import create_app
    from marketplace.certificates import service as certificates
    from marketplace.obligations.models import ObligationRecord

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance, "TESTING": True})
    with app.app_context():
        start.wait()
        for _ in range(EACH):
            ob = db.session.scalar(select(ObligationRecord).where(ObligationRecord.superseded_at.is_(None)))
            certificates.issue(ob, "race")
            db.session.commit()
        results.put("ok")
        db.engine.dispose()


def test_eight_processes_issue_at_once(demo, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the multi-process sequencer test targets PostgreSQL (SQLite is single-writer by design)")
    from marketplace.keys import service as keys

    keys.platform_key()
    from marketplace.tlog import service as tlog

    tlog.log_key()
    db.session.commit()
    db.session.remove()
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_issue, args=(database_url, demo.instance_path, start, results))
             for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    assert results.qsize() == PROCESSES
    n = PROCESSES * EACH
    indexes = db.session.scalars(select(LogEntry.idx).order_by(LogEntry.idx)).all()
    issuances = db.session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.kind == "issuance"))
    assert issuances == n + 1  # plus the demo's
    assert indexes == list(range(len(indexes)))  # dense from 0, no duplicates, no gaps
    assert len(indexes) == 1 + 2 * n  # the demo's certificate, then each issuance revokes the one before
    out = CliRunner().invoke(marketplace_cli, ["log", "audit"])
    assert out.exit_code == 0, out.output

"""`make run` again after using the demo: the loader seeds only what is missing and never touches what a
user changed (issue 11, item 7)."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from marketplace import models
from marketplace.allocations import service as allocations
from marketplace.certificates.models import Certificate
from marketplace.demo.service import load
from marketplace.domain.money import Money
from marketplace.extensions import db
from marketplace.obligations import service as obligations
from marketplace.policies import service as policies
from marketplace.policies.models import Policy
from marketplace.registry import service as registry
from marketplace.reports import service as reports

ROOT = Path(__file__).resolve().parents[2]


def snapshot():
    tables = [t for t in db.metadata.sorted_tables if t.name not in ("idempotency_keys",)]
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in tables}


def test_reload_after_every_kind_of_use_changes_nothing(app):
    load()
    db.session.commit()
    ex = registry.find_exchange("Kanto-FB-00099", "JP")
    ob = obligations.latest(ex.org_id, "2027-Q1")
    bound = db.session.scalar(select(Policy).filter_by(number="TMC-2026-0001"))
    hsr = db.session.scalar(select(Policy).filter_by(number="HSR-JP-7781"))
    # what a user does: top up cover to the limit, detach another, cancel a policy, downgrade an insurer,
    # correct a volume and recompute, which supersedes the obligation and its certificate
    allocations.attach(ob, bound.id, Money(1_000_000_000, "JPY"), "user")
    live = db.session.scalar(select(models.Allocation).filter_by(policy_id=hsr.id, status="live"))
    allocations.detach(live)
    usd = db.session.scalar(select(Policy).filter_by(number="TMC-USD-0042"))
    policies.cancel(usd, date(2027, 4, 30), date(2026, 12, 1), "user", "moved to another insurer")
    tokio = db.session.scalar(select(models.Organization).filter_by(name="Tokio Mutual Cyber"))
    registry.set_rating(tokio, registry.find_regulator("JP"), "BBB", "user")
    reports.record_volume(ex, date(2026, 6, 1), "spot", Money(1, "JPY"), "user")
    obligations.compute(ex, "2027-Q1", "user")
    db.session.commit()
    before = snapshot()
    ex_id, tokio_id = ex.org_id, tokio.id
    revision = obligations.latest(ex_id, "2027-Q1").revision

    load()
    db.session.commit()
    db.session.remove()

    assert snapshot() == before
    assert obligations.latest(ex_id, "2027-Q1").revision == revision
    assert registry.rating_in(tokio_id, "JP") == "BBB"  # the JP regulator's rating, as the user left it
    assert db.session.scalar(select(Policy.status).filter_by(number="TMC-USD-0042")) != "active"


def test_make_run_twice_after_using_the_demo(tmp_path):
    """The commands `make run` runs, twice, with a user's attach in between (a subprocess each)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL="sqlite:///" + str(tmp_path / "demo.db"), MARKETPLACE_INSTANCE_PATH=str(tmp_path))
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi"]
    for args in (["db", "upgrade"], ["marketplace", "demo"]):
        subprocess.run(flask + args, cwd=ROOT, env=env, check=True, capture_output=True)
    attach = ("from marketplace import create_app\n"
              "from marketplace.extensions import db\n"
              "from marketplace.allocations import service as a\n"
              "from marketplace.obligations import service as o\n"
              "from marketplace.registry import service as r\n"
              "from marketplace.policies.models import Policy\n"
              "from marketplace.domain.money import Money\n"
              "app = create_app()\n"
              "with app.app_context():\n"
              "    ex = r.find_exchange('Kanto-FB-00099', 'JP')\n"
              "    p = db.session.query(Policy).filter_by(number='TMC-2026-0001').one()\n"
              "    a.attach(o.latest(ex.org_id, '2027-Q1'), p.id, Money(1_000_000_000, 'JPY'), 'user')\n"
              "    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", attach], cwd=ROOT, env=env, check=True, capture_output=True)
    again = subprocess.run([*flask, "marketplace", "demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr


def test_first_load_still_issues_a_certificate(app):
    load()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    assert db.session.scalar(select(func.count()).select_from(models.Allocation)) == 3

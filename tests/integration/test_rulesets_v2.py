"""Rule-sets version 2 on both backends: the demo's version-1 obligations are pinned byte-for-byte, version 2
applies from 2027-Q2 (HK other storage, a first-year MiCA firm with projected overheads and deductions), and
the daily adequacy check finds an HK shortfall."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest
import rfc8785
from sqlalchemy import select

from marketplace.adequacy import service as adequacy
from marketplace.cli import marketplace_cli
from marketplace.domain.money import Money
from marketplace.errors import Unprocessable
from marketplace.events.models import Event
from marketplace.extensions import db
from marketplace.jobs.schedule import SCHEDULE
from marketplace.obligations import service as obligations
from marketplace.registry import service as registry
from marketplace.reports import service as reports
from marketplace.rulesets import service as rulesets

LICENCES = {"JP": "Kanto-FB-00099", "EU": "DE-CASP-0042", "HK": "SFC-BPX123"}

# SHA-256 of the RFC 8785 JSON of each demo exchange's stored 2027-Q1 obligation (period, rule-set, total,
# lines; incident ids, which are random, replaced by "*"), computed under version 1 by the code as it stood
# before version 2 was added (and unchanged since).
V1_DEMO_OBLIGATIONS = {
    "JP": "c9bd1853646ddfa57e84a2274ef373f136ade05b37db27e6f66c17d259348d44",
    "EU": "573b04361085dbedffc07906259527d422cd6b69a4fc1efae81143d5e6e3546a",
    "HK": "3dd312642fc59954b6b8bdf9668a1e2b4a1df3d4e48c740274d99a9f6ef8e602",
}


def stored_document(row) -> dict:
    lines = [{**ln, "inputs": {k: ("*" if k == "incident" else v) for k, v in ln["inputs"].items()}}
             for ln in row.lines]
    return {"period": [row.period, row.period_start.isoformat(), row.period_end.isoformat()],
            "ruleset": [row.ruleset_id, row.ruleset_version, row.ruleset_digest],
            "total": [str(row.total), row.currency], "lines": lines}


def test_the_demo_obligations_under_version_1_are_byte_for_byte_as_before(demo):
    for j, licence in LICENCES.items():
        row = obligations.compute(registry.find_exchange(licence), "2027-Q1", "test")
        assert row.ruleset_version == "1", j
        digest = hashlib.sha256(rfc8785.dumps(stored_document(row))).hexdigest()
        assert digest == V1_DEMO_OBLIGATIONS[j], (j, digest)
    db.session.commit()


def test_shipped_version_2_is_published_and_in_force_from_2027_q2(demo):
    versions = {(rs.id, rs.version): rs for _, rs in rulesets.all_versions()}
    assert {v for _, v in versions} == {"1", "2"} and len(versions) == 6
    for j in LICENCES:
        assert rulesets.in_force(j, date(2027, 3, 31)).version == "1"
        assert rulesets.in_force(j, date(2027, 4, 1)).version == "2"


def test_hk_other_storage_is_reported_and_charged_in_full_from_2027_q2(demo):
    """Demo HK custody on 2026-12-31: hot HK$120,000,000.00, cold HK$5,880,000,000.00; other storage
    HK$50,000,000.00 reported on 2027-03-31. 2027-Q2 under version 2: cold 588,000,000,000 x 0.5 =
    294,000,000,000 + hot 12,000,000,000 x 1 + other 5,000,000,000 x 1 = 311,000,000,000 cents.
    2027-Q1 stays on version 1: 12,000,000,000 + 294,000,000,000 = 306,000,000,000."""
    ex = registry.find_exchange(LICENCES["HK"])
    row = reports.record_custody(ex, date(2027, 3, 31), "other", Money(5_000_000_000, "HKD"), "test")
    assert row.wallet == "other" and row.outcome == "created"
    q2 = obligations.compute(ex, "2027-Q2", "test")
    assert (q2.ruleset_version, q2.total) == ("2", 311_000_000_000)
    assert {ln["component"]: int(ln["amount"]["amount"]) for ln in q2.lines}["custody:other"] == 5_000_000_000
    q1 = obligations.compute(ex, "2027-Q1", "test")
    assert (q1.ruleset_version, q1.total) == ("1", 306_000_000_000)
    db.session.commit()


def test_a_first_year_mica_firm_gets_an_obligation_with_its_deductions(demo):
    """A firm authorised for class 2 that began in 2027 reports projected overheads for 2027 of
    EUR 900,000.00 with EUR 100,000.00 of Art. 67(3) deductions: 0.25 x 80,000,000 cents = 20,000,000 >
    class 2 capital 12,500,000. 2027-Q2 total EUR 200,000.00. Under version 1 (2027-Q1) it gets the
    refusal issue 14 names."""
    bafin = registry.find_regulator("EU")
    ex = registry.register_exchange("Neu Krypto GmbH", "DE-CASP-0777", bafin, "test", service_classes=(2,))
    row = reports.record_overheads(ex, 2027, Money(90_000_000, "EUR"), "test", projected=True,
                                   deductions=Money(10_000_000, "EUR"))
    assert (row.projected, row.deductions, row.revision) == (True, 10_000_000, 1)
    ob = obligations.compute(ex, "2027-Q2", "test")
    assert (ob.ruleset_version, ob.total, ob.currency) == ("2", 20_000_000, "EUR")
    # a correction of the deductions alone is a new revision of the report, and a new obligation revision
    again = reports.record_overheads(ex, 2027, Money(90_000_000, "EUR"), "test", projected=True,
                                     deductions=Money(30_000_000, "EUR"))
    assert (again.outcome, again.revision) == ("corrected", 2)
    ob2 = obligations.compute(ex, "2027-Q2", "test")
    assert (ob2.revision, ob2.total) == (2, 15_000_000)  # 0.25 x 60,000,000 = 15,000,000 > 12,500,000
    db.session.commit()
    with pytest.raises(Unprocessable, match="no fixed overheads reported for 2026"):
        obligations.compute(ex, "2027-Q1", "test")
    db.session.rollback()


def test_the_daily_adequacy_check_finds_an_hk_shortfall(demo):
    """The SFC expects daily monitoring: the scheduled daily check covers every jurisdiction's live
    obligations. The demo HK exchange has no cover and reports no cash: its 2027-Q1 obligation
    (HK$3,060,000,000.00) is short by all of it."""
    assert ("adequacy.daily", 86400) in SCHEDULE
    ex = registry.find_exchange(LICENCES["HK"])
    ob = obligations.compute(ex, "2027-Q1", "test")
    db.session.commit()
    result = adequacy.daily(date(2027, 1, 15))
    assert result["shortfalls"] >= 1
    found = db.session.scalars(select(Event).filter_by(kind="reserve.shortfall", subject_id=ob.id)).all()
    assert len(found) == 1 and found[0].jurisdiction == "HK"
    assert found[0].payload["shortfall"] == {"amount": "306000000000", "currency": "HKD"}
    db.session.commit()


def run(app, *args):
    return app.test_cli_runner().invoke(marketplace_cli, list(args))


def test_cli_lists_sourced_parameters_per_rule_set(demo):
    out = run(demo, "rulesets", "--json")
    assert out.exit_code == 0, out.output
    got = {(r["id"], r["version"]): r["sourced"] for r in json.loads(out.output)}
    assert got[("EU-MiCA-67", "2")] == {"count": 13, "of": 15} and got[("JP-FSA-2026", "1")] == {"count": 0, "of": 20}
    table = run(demo, "rulesets").output
    assert "sourced" in table.splitlines()[0] and "13 of 15" in table and "6 of 8" in table and "0 of 21" in table


def test_cli_diff_names_added_removed_and_changed_with_sources(demo):
    out = run(demo, "rulesets", "diff", "JP-FSA-2026@1", "JP-FSA-2026@2")
    assert out.exit_code == 0, out.output
    text = out.output
    assert text.startswith("JP-FSA-2026@1 (0 of 20 parameters sourced) -> JP-FSA-2026@2 (0 of 21 parameters")
    assert "~ effective_from: 2026-04-01 -> 2027-04-01" in text
    assert "+ unnotified_custodian_loading = 0.25\n    source: service proposal (no published value): " in text
    assert "- unregistered_custodian_loading = 0.25\n    source was: Financial System Council WG report" in text
    assert "~ custody_rates (value, source)\n    cold: — -> 0.01\n    hot: 0.01 -> —\n    old source: " in text
    assert "3 added, 2 removed," in text
    as_json = run(demo, "rulesets", "diff", "EU-MiCA-67@1", "EU-MiCA-67@2", "--json")
    d = json.loads(as_json.output)
    assert d["to"]["sourced"] == {"count": 13, "of": 15}
    assert {c["name"] for c in d["added"]} >= {"perils.required", "perils.vocabulary", "overheads_net_of_deductions",
                                               "projected_overheads_first_year"}
    same = run(demo, "rulesets", "diff", "HK-SFC-VATP@1", "HK-SFC-VATP@1")
    assert "no differences" in same.output
    bad = run(demo, "rulesets", "diff", "HK-SFC-VATP@7", "nonsense")
    assert bad.exit_code == 2
    assert "from: no rule-set HK-SFC-VATP@7 is published; to: must be ID@VERSION" in bad.output

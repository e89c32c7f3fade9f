"""CLI through Flask's runner (both backends) and through the installed console script."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from marketplace.cli import marketplace_cli

ROOT = Path(__file__).resolve().parents[2]


def run(app, *args):
    return app.test_cli_runner().invoke(marketplace_cli, list(args))


def test_bootstrap_is_idempotent(app):
    first = run(app, "bootstrap")
    assert first.exit_code == 0, first.output
    # three rule-sets, versions 1 and 2
    assert "rule-sets published: 6 new" in first.output and "created" in first.output
    second = run(app, "bootstrap")
    assert "rule-sets published: 0 new" in second.output and "already exists" in second.output


def test_rulesets_lists_both_versions_of_three_with_digests(demo):
    out = run(demo, "rulesets", "--json")
    rows = json.loads(out.output)
    assert sorted((r["id"], r["version"]) for r in rows) == [
        (i, v) for i in ("EU-MiCA-67", "HK-SFC-VATP", "JP-FSA-2026") for v in ("1", "2")]
    assert all(r["digest"].startswith("sha256:") and len(r["digest"]) == 71 for r in rows)
    table = run(demo, "rulesets").output
    assert all(r["digest"] in table for r in rows)


def test_obligation_json_lines_sum_to_total(demo):
    out = run(demo, "obligation", "--exchange", "Kanto-FB-00099", "--period", "2027-Q1", "--json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert sum(int(ln["amount"]["amount"]) for ln in doc["lines"]) == int(doc["total"]["amount"]) == 5_883_337_500
    assert doc["ruleset"]["digest"].startswith("sha256:")


def test_obligation_table(demo):
    out = run(demo, "obligation", "--exchange", "SFC-BPX123", "--period", "2027-Q1")
    assert out.exit_code == 0
    assert "TOTAL" in out.output and "HKD 3,060,000,000.00" in out.output


@pytest.mark.parametrize(("args", "message"), [
    (["--exchange", "NOPE", "--period", "2027-Q1"], "no exchange with licence"),
    (["--exchange", "Kanto-FB-00099", "--period", "2027-Q7"], "period"),
    (["--exchange", "Kanto-FB-00099", "--period", "2027-Q1", "--ruleset", "JP-FSA-2026@7"], "no rule-set"),
    (["--exchange", "Kanto-FB-00099", "--period", "2027-Q1", "--ruleset", "garbage"], "ID@VERSION"),
])
def test_bad_input_one_line_exit_2(demo, args, message):
    out = run(demo, "obligation", *args)
    assert out.exit_code == 2
    assert message in out.output
    assert "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1


def _env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "DATABASE_URL"))}
    env.update(DATABASE_URL="sqlite:///" + str(tmp_path / "cli.db"), MARKETPLACE_INSTANCE_PATH=str(tmp_path))
    return env


def test_console_script_and_flask_cli(tmp_path):
    env = _env(tmp_path)
    bindir = Path(sys.executable).parent
    subprocess.run([bindir / "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    subprocess.run([bindir / "flask", "--app", "wsgi", "marketplace", "demo"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    ok = subprocess.run([bindir / "marketplace", "obligation", "--exchange", "Kanto-FB-00099", "--period",
                         "2027-Q1", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["total"] == {"amount": "5883337500", "currency": "JPY"}
    bad = subprocess.run([bindir / "marketplace", "obligation", "--exchange", "X", "--period", "2027-Q1"],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: no exchange with licence 'X'"


def test_bootstrap_prints_first_client_once(app):
    first = run(app, "bootstrap")
    assert "client_id:" in first.output and "client_secret:" in first.output
    assert "client_secret:" not in run(app, "bootstrap").output


def test_clients_create_and_revoke(demo):
    out = run(demo, "clients", "create", "--org", "Sakura Digital Exchange", "--scopes", "reports:read,reports:write")
    assert out.exit_code == 0, out.output
    fields = dict(line.split(":", 1) for line in out.output.strip().splitlines())
    assert fields["scopes"].strip() == "reports:read reports:write"
    client_id = fields["client_id"].strip()
    token = demo.test_client().post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                          "client_secret": fields["client_secret"].strip()})
    assert token.status_code == 200
    assert run(demo, "clients", "revoke", client_id).exit_code == 0
    h = {"Authorization": f"Bearer {token.json['access_token']}"}
    assert demo.test_client().get("/api/v1/reports/volumes", headers=h).status_code == 401
    bad = run(demo, "clients", "create", "--org", "Sakura Digital Exchange", "--scopes", "registry:write")
    assert bad.exit_code == 2 and "cannot hold 'registry:write'" in bad.output
    assert run(demo, "clients", "create", "--org", "Nobody").exit_code == 2
    assert run(demo, "clients", "revoke", "nope").exit_code == 2


def test_demo_credentials_file_is_private_and_stable(demo):
    path = Path(demo.instance_path) / "demo-credentials.json"
    out = run(demo, "demo")
    assert out.exit_code == 0 and str(path) in out.output
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    first = path.read_text()
    run(demo, "demo")
    assert path.read_text() == first
    doc = json.loads(first)
    assert len(doc["clients"]) == 3 + 3 + 3  # regulators, insurers, exchanges
    path.unlink()
    run(demo, "demo")
    assert json.loads(path.read_text())["clients"][0]["client_id"] != doc["clients"][0]["client_id"]
    from marketplace.auth.models import OAuthClient
    from marketplace.extensions import db

    db.session.remove()
    assert db.session.get(OAuthClient, doc["clients"][0]["client_id"]).revoked_at is not None

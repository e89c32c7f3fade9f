"""The batch verifier's pieces: one word per result, shared inputs read once however many files, and a
progress bar that does not disturb the lines."""

import json

from click.testing import CliRunner

from marketplace.verify import cli
from marketplace.verify.core import Result, verdict, verify
from tests.unit.certs import NOW, World


def test_verdict_words():
    w = World()
    token = w.token()
    ok = verify(token, w.jwks(), w.insurer_jwks(), w.status_list(), now=NOW, receipt=w.receipt(token),
                log_key=w.log_key)
    assert verdict(ok) == "valid"
    revoked = verify(token, w.jwks(), w.insurer_jwks(), w.status_list(revoked=True), now=NOW,
                     receipt=w.receipt(token), log_key=w.log_key)
    assert verdict(revoked) == "revoked"
    forged = verify(World().token(), w.jwks(), w.insurer_jwks(), w.status_list(revoked=True), now=NOW)
    assert verdict(forged) == "invalid"  # an unsigned "revoked" is no revocation
    assert verdict(Result()) == "invalid"


def test_many_garbage_files_read_shared_inputs_once(tmp_path, monkeypatch):
    w = World()
    d = tmp_path / "d"
    d.mkdir()
    for i in range(2000):
        (d / f"{i:05}.jws").write_bytes(b"\xffgarbage" if i % 2 else b"eyJ.not.a-jws")
    shared = {"jwks.json": json.dumps(w.jwks()), "list.jws": w.status_list(), "log.key": w.log_key,
              "ins.json": json.dumps(w.insurer_jwks()["urn:marketplace:insurer:ins-1"])}
    for name, text in shared.items():
        (tmp_path / name).write_text(text)
    reads = []
    real = cli._read
    monkeypatch.setattr(cli, "_read", lambda path: reads.append(path) or real(path))
    options = (("--jwks", "jwks.json"), ("--status-list", "list.jws"), ("--log-key", "log.key"),
               ("--insurer-jwks", "ins.json"))
    args = ["--batch", str(d), "--json"] + [x for opt, name in options for x in (opt, str(tmp_path / name))]
    out = CliRunner().invoke(cli.verify_command, args)
    assert out.exit_code == 1, out.output
    report = json.loads(out.output)
    assert report["summary"]["total"] == 2000
    assert report["summary"]["unusable"] == 1000 and report["summary"]["invalid"] == 1000
    for name in shared:
        assert reads.count(str(tmp_path / name)) == 1, name
    assert len(reads) == 2000 + len(shared)  # each certificate file once, nothing else


def test_the_progress_bar_goes_to_stderr_when_it_is_a_terminal(tmp_path, monkeypatch):
    w = World()
    token = w.token()
    doc = {"certificate": token, "platformJwks": w.jwks(), "insurerJwks": w.insurer_jwks(),
           "statusListCredential": w.status_list(), "receipt": w.receipt(token), "logKey": w.log_key}
    for i in range(3):
        (tmp_path / f"{i}.json").write_text(json.dumps(doc))
    monkeypatch.setattr(cli, "_stderr_is_tty", lambda: True)
    out = CliRunner().invoke(cli.verify_command, ["--batch", str(tmp_path), "--allow-stale"])
    assert out.exit_code == 1  # World's certificate is valid in 2027 only
    assert [line.split()[0] for line in out.stdout.splitlines()[:-1]] == ["Invalid"] * 3
    assert "validity_period: not yet valid" in out.stdout
    assert "verifying" in out.stderr

"""`marketplace verify --batch DIR` as a regulator runs it (the console script, in a subprocess): one line per
certificate with its verdict and first failing check, a summary, a JSON report; exit 0 only when every
certificate is valid, 1 when any is not, 2 (one line, no traceback) when DIR is unusable."""

import io
import json
from datetime import UTC, datetime

import pytest

from tests.verify_cli import bundle, current_world, run_verify, status_list


@pytest.fixture(scope="module")
def w():
    return current_world()


def fresh_list(w, revoked=False) -> str:
    """A status list signed just now with a 5-minute ttl: fresh, so revocation can pass or say revoked."""
    return status_list(w, datetime.now(UTC), revoked=revoked)


def pdf_with(doc: dict) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_attachment("bundle.json", json.dumps(doc).encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def mp(cwd, *args):
    return run_verify(cwd, *args)


@pytest.fixture
def mixed(w, tmp_path):
    d = tmp_path / "certs"
    d.mkdir()
    token = w.token()
    (d / "a-valid.json").write_text(json.dumps(bundle(w)))
    (d / "b-revoked.json").write_text(json.dumps(bundle(w, revoked=True)))
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    (d / "c-tampered.json").write_text(json.dumps(bundle(w, tampered)))
    (d / "d-garbage.bin").write_bytes(b"\xff\xfe\x00 not a certificate")
    (d / "e-valid.pdf").write_bytes(pdf_with(bundle(w)))
    (d / "f-broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (d / ".hidden").write_text("skipped")
    (d / "subdir").mkdir()
    return d


def test_a_mixed_directory_gives_a_line_each_and_a_summary(mixed):
    out = mp(mixed.parent, "--batch", str(mixed))
    assert out.returncode == 1, (out.stdout, out.stderr)
    lines = out.stdout.splitlines()
    assert len(lines) == 7, out.stdout
    by_file = {line.split()[1]: line for line in lines[:-1]}
    assert sorted(by_file) == ["a-valid.json", "b-revoked.json", "c-tampered.json", "d-garbage.bin",
                               "e-valid.pdf", "f-broken.pdf"]
    assert by_file["a-valid.json"].split() == ["Valid", "a-valid.json"]
    assert by_file["e-valid.pdf"].split() == ["Valid", "e-valid.pdf"]
    assert by_file["b-revoked.json"].startswith("Revoked ") and \
        "revocation: revoked (status list bit set)" in by_file["b-revoked.json"]
    assert by_file["c-tampered.json"].startswith("Invalid ") and \
        "signature: the signature does not verify with the platform key" in by_file["c-tampered.json"]
    assert by_file["d-garbage.bin"].startswith("unusable ") and "not UTF-8 text" in by_file["d-garbage.bin"]
    assert by_file["f-broken.pdf"].startswith("unusable ") and "unreadable PDF" in by_file["f-broken.pdf"]
    assert lines[-1].startswith("6 certificate(s): 2 valid, 1 revoked, 1 invalid, 2 unusable in ")
    assert lines[-1].endswith(" certificates/s)")
    assert out.stderr == ""  # no TTY: no progress bar


def test_the_json_report(mixed):
    out = mp(mixed.parent, "--batch", str(mixed), "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    status = {c["file"]: c["status"] for c in report["certificates"]}
    assert status == {"a-valid.json": "valid", "b-revoked.json": "revoked", "c-tampered.json": "invalid",
                      "d-garbage.bin": "unusable", "e-valid.pdf": "valid", "f-broken.pdf": "unusable"}
    first = {c["file"]: c["firstFailure"] for c in report["certificates"]}
    assert first["a-valid.json"] is None and first["b-revoked.json"].startswith("revocation: revoked")
    checks = next(c["checks"] for c in report["certificates"] if c["file"] == "a-valid.json")
    assert [c["name"] for c in checks][:4] == ["signature", "key_status", "validity_period", "revocation"]
    s = report["summary"]
    assert (s["total"], s["valid"], s["revoked"], s["invalid"], s["unusable"]) == (6, 2, 1, 1, 2)
    assert s["seconds"] >= 0 and s["certificatesPerSecond"] >= 0


def test_all_valid_is_exit_0(w, tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.json").write_text(json.dumps(bundle(w)))
    out = mp(tmp_path, "--batch", str(tmp_path))
    assert out.returncode == 0, out.stdout
    assert out.stdout.splitlines()[-1].startswith("3 certificate(s): 3 valid, 0 revoked, 0 invalid, 0 unusable")


def test_shared_inputs_apply_to_every_certificate(w, tmp_path):
    d = tmp_path / "jws"
    d.mkdir()
    for i in range(3):
        (d / f"{i}.jws").write_text(w.token())
    (tmp_path / "jwks.json").write_text(json.dumps(w.jwks()))
    (tmp_path / "ins.json").write_text(json.dumps(w.insurer_jwks()["urn:marketplace:insurer:ins-1"]))
    (tmp_path / "list.jws").write_text(fresh_list(w, revoked=True))
    out = mp(tmp_path, "--batch", str(d), "--jwks", "jwks.json", "--insurer-jwks", "ins.json",
             "--status-list", "list.jws")
    assert out.returncode == 1
    assert [line.split()[0] for line in out.stdout.splitlines()[:-1]] == ["Revoked"] * 3, out.stdout


@pytest.mark.parametrize("setup, words", [
    (lambda p: None, "cannot read directory"),
    (lambda p: p.mkdir(), "holds no certificate files"),
    (lambda p: p.write_text("x"), "is not a directory"),
])
def test_an_unusable_directory_is_exit_2_in_one_line(tmp_path, setup, words):
    target = tmp_path / "dir"
    setup(target)
    out = mp(tmp_path, "--batch", str(target))
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert words in out.stderr and out.stdout == ""


def test_batch_refuses_a_file_too_and_a_receipt(w, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(bundle(w)))
    assert mp(tmp_path, "a.json", "--batch", str(tmp_path)).returncode == 2
    out = mp(tmp_path, "--batch", str(tmp_path), "--receipt", "a.json")
    assert out.returncode == 2 and "--receipt" in out.stderr


def test_worker_processes_give_the_same_answers_in_the_same_order(w, mixed):
    import shutil

    for i in range(130):  # enough files for two workers (cli.MIN_PER_WORKER each)
        source = sorted(p for p in mixed.iterdir() if p.is_file() and not p.name.startswith("."))[i % 6]
        shutil.copy(source, mixed / f"copy-{i:03}-{source.name}")
    one, two = (mp(mixed.parent, "--batch", str(mixed), "--json", "--jobs", jobs) for jobs in ("1", "2"))
    assert one.returncode == two.returncode == 1
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert a["certificates"] == b["certificates"] and len(a["certificates"]) == 136
    assert (a["summary"]["jobs"], b["summary"]["jobs"]) == (1, 2)
    assert {k: a["summary"][k] for k in ("valid", "revoked", "invalid", "unusable")} == \
        {k: b["summary"][k] for k in ("valid", "revoked", "invalid", "unusable")}

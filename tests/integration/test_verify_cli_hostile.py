"""`marketplace verify` as a user runs it (the console script, in a subprocess) on hostile files:
exit 0 valid, 1 invalid, 2 unusable, one line on stderr, never a traceback; stale lists never pass."""

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.crypto.keys import KeyPair
from tests.unit.hostile import deep, mutate, raw_token
from tests.verify_cli import MP, bundle, current_world, run_verify, stamp, status_list


@pytest.fixture(scope="module")
def w():
    return current_world()


def mp(tmp_path, *args, content=None, name="input.json"):
    """Run the console script on `content` (dict -> JSON, str, or bytes) written to a file."""
    if content is not None:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))
        args = (str(path), *args)
    return run_verify(tmp_path, *args, timeout=60)


def unusable(out, words: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert words in out.stderr, out.stderr


def test_a_good_bundle_is_valid(w, tmp_path):
    out = mp(tmp_path, content=bundle(w))
    assert out.returncode == 0 and out.stdout.splitlines()[-1] == "VALID", out.stdout


def test_a_stale_status_list_fails_unless_allowed(w, tmp_path):
    stale = bundle(w, statusListCredential=status_list(w, datetime.now(UTC) - timedelta(hours=1)))
    out = mp(tmp_path, content=stale)
    assert out.returncode == 1 and out.stdout.splitlines()[-1] == "INVALID"
    line = next(ln for ln in out.stdout.splitlines() if "revocation" in ln)
    assert line.startswith("FAIL") and "status unknown: the status list is stale (fetched " in line
    assert "ttl 300 s" in line
    out = mp(tmp_path, "--allow-stale", content=stale)
    assert out.returncode == 0 and out.stdout.splitlines()[-1] == "VALID", out.stdout
    assert next(ln for ln in out.stdout.splitlines() if "revocation" in ln).startswith("--")
    past = bundle(w, statusListCredential=status_list(w, datetime.now(UTC), validUntil=stamp(datetime(2020, 1, 1))))
    assert mp(tmp_path, "--json", content=past).returncode == 1
    assert "--allow-stale" in mp(tmp_path, "--help").stdout


def test_the_fetch_time_of_a_bundle_or_a_file_counts(w, tmp_path):
    now = datetime.now(UTC)
    served = status_list(w, now - timedelta(minutes=4))  # signed 4 min ago, fetched just now
    assert mp(tmp_path, content=bundle(w, statusListCredential=served, statusListFetchedAt=stamp(now))) \
        .returncode == 0
    old = status_list(w, now - timedelta(minutes=8))
    assert mp(tmp_path, content=bundle(w, statusListCredential=old, statusListFetchedAt=stamp(
        now - timedelta(minutes=6)))).returncode == 1  # fetched 6 min ago: stale 1 min ago
    unusable(mp(tmp_path, content=bundle(w, statusListFetchedAt=5)), "statusListFetchedAt must be")
    unusable(mp(tmp_path, content=bundle(w, statusListFetchedAt="yesterday")), "statusListFetchedAt must be")
    listed = tmp_path / "sl.jws"
    listed.write_text(old)  # curl -o: the file's time is the fetch time
    assert mp(tmp_path, "--status-list", str(listed), content=bundle(w)).returncode == 0
    six_minutes_ago = (now - timedelta(minutes=6)).timestamp()
    os.utime(listed, (six_minutes_ago, six_minutes_ago))
    out = mp(tmp_path, "--status-list", str(listed), content=bundle(w))
    assert out.returncode == 1 and "the status list is stale" in out.stdout


def test_a_status_list_by_a_key_not_in_the_jwks_says_so(w, tmp_path):
    rotated = KeyPair.generate()
    out = mp(tmp_path, "--json", content=bundle(w, statusListCredential=status_list(w, datetime.now(UTC), rotated)))
    assert out.returncode == 1
    revocation = next(c for c in json.loads(out.stdout)["checks"] if c["name"] == "revocation")
    assert revocation["detail"] == (f"status unknown: the status list is signed by key {rotated.kid}, which is not "
                                    "in the given JWKS (rotated? fetch the current JWKS)")


def test_separate_files_and_their_errors(w, tmp_path):
    token = w.token()
    (tmp_path / "jwks.json").write_text(json.dumps(w.jwks()))
    (tmp_path / "ins.json").write_text(json.dumps(w.insurer_jwks()["urn:marketplace:insurer:ins-1"]))
    (tmp_path / "sl.jws").write_text(status_list(w, datetime.now(UTC)))
    (tmp_path / "receipt.json").write_text(json.dumps(w.receipt(token)))
    (tmp_path / "log.key").write_text(w.log_key)
    files = ["--jwks", "jwks.json", "--insurer-jwks", "ins.json", "--status-list", "sl.jws", "--receipt",
             "receipt.json", "--log-key", "log.key"]
    out = mp(tmp_path, *files, content=token, name="cert.jws")
    assert out.returncode == 0, out.stdout
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    for option, value, words in [("--jwks", "list.json", "is not a JWKS"), ("--insurer-jwks", "list.json",
                                                                            "is not a JWKS"),
                                 ("--receipt", "list.json", "a receipt is a JSON object"),
                                 ("--status-list", "missing", "cannot read missing"),
                                 ("--status-list", "binary", "not UTF-8"), ("--log-key", "binary", "not UTF-8"),
                                 ("--jwks", "binary", "cannot read JSON")]:
        args = list(files)
        args[args.index(option) + 1] = value
        unusable(mp(tmp_path, *args, str(tmp_path / "cert.jws")), words)


@pytest.mark.parametrize(("members", "words"), [
    ({"platformJwks": [1]}, "platformJwks is not a JWKS"),
    ({"platformJwks": {"keys": "x"}}, "platformJwks is not a JWKS"),
    ({"platformJwks": None}, "no platform JWKS"),
    ({"insurerJwks": ["x"]}, "insurerJwks must be"),
    ({"insurerJwks": "x"}, "insurerJwks must be"),
    ({"insurerJwks": {"urn:x": 5}}, "insurerJwks['urn:x'] is not a JWKS"),
    ({"statusListCredential": 5}, "statusListCredential must be"),
    ({"statusListCredential": {"a": 1}}, "statusListCredential must be"),
    ({"receipt": "x"}, "receipt must be"),
    ({"receipt": [1]}, "receipt must be"),
    ({"logKey": ["k"]}, "logKey must be"),
    ({"certificate": 5}, "'certificate' member"),
    ({"certificate": None}, "'certificate' member"),
])
def test_a_bundle_member_of_the_wrong_type_is_unusable(w, tmp_path, members, words):
    unusable(mp(tmp_path, content=bundle(w, **members)), words)


@pytest.mark.parametrize(("content", "words"), [
    ('{"certificate": ' + deep(100_000) + "}", "nested deeper than 64"),
    ('{"certificate": "\\ud800"}', "surrogate"),
    ('{"certificate": NaN}', "NaN is not JSON"),
    ("{not json", "cannot read JSON"),
    ("[1]", "'certificate' member"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"%PDF-1.4 garbage", "PDF"),
    (b"%PDF-1.4\n" + b"1 0 obj\n" * 5000, "PDF"),
])
def test_unreadable_files_are_unusable(tmp_path, content, words):
    unusable(mp(tmp_path, content=content), words)


def test_paths_that_cannot_be_read(tmp_path):
    unusable(mp(tmp_path, str(tmp_path / "missing")), "cannot read")
    unusable(mp(tmp_path, str(tmp_path)), "cannot read")
    odd = os.fsencode(tmp_path) + b"/\xff\xfe"
    out = subprocess.run([os.fsencode(MP), b"verify", odd], capture_output=True, timeout=60)
    assert out.returncode == 2 and b"Traceback" not in out.stderr and out.stderr.startswith(b"error: cannot read")


@pytest.mark.parametrize("edit", [
    lambda w: raw_token({"alg": "EdDSA", "kid": ["a"], "typ": "vc+jwt"}, w.credential, w.platform),
    lambda w: raw_token({"alg": "EdDSA", "kid": {"k": 1}, "typ": "vc+jwt"}, w.credential, w.platform),
    lambda w: w.token(mutate(w.credential, ("credentialSubject",), ["x"])),
    lambda w: w.token(mutate(w.credential, ("credentialSubject", "coverage"), "x")),
    lambda w: w.token(mutate(w.credential, ("credentialSubject", "coverage", 0, "insurer", "id"), 5)),
    lambda w: w.token(mutate(w.credential, ("credentialStatus", "statusListIndex"), 10**40)),
    lambda w: w.token(mutate(w.credential, ("credentialSubject", "name"), "\u0000\u001b[31m\u202e")),
    lambda w: raw_token({"alg": "EdDSA", "kid": w.platform.kid, "typ": "vc+jwt"}, None, w.platform,
                        payload_text='{"a":' + deep(5000) + "}"),
    lambda w: raw_token({"alg": "EdDSA", "kid": w.platform.kid, "typ": "vc+jwt"}, None, w.platform,
                        payload_text='{"id":"\\udfff"}'),
    lambda w: "\u00e9\u4e2d.\U0001f338.x",
    lambda w: "",
])
def test_hostile_certificates_are_invalid_not_errors(w, tmp_path, edit):
    token = edit(w)
    content = bundle(w, token=token) if token else {**bundle(w), "certificate": ""}
    out = mp(tmp_path, content=content)
    assert out.returncode == 1 and out.stdout.splitlines()[-1] == "INVALID", (out.stdout, out.stderr)
    assert "\x1b" not in out.stdout and "\x00" not in out.stdout
    out = mp(tmp_path, "--json", content=content)
    assert out.returncode == 1 and json.loads(out.stdout)["valid"] is False


def test_attest_refuses_a_policy_file_that_is_not_an_object(tmp_path):
    key = tmp_path / "key.jwk"
    key.write_text(json.dumps(KeyPair.generate().private_jwk()))
    (tmp_path / "policy.json").write_text('["policyNumber"]')
    out = subprocess.run([str(MP), "attest", "--key", str(key), "--policy", str(tmp_path / "policy.json")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "must be a JSON object" in out.stderr


def test_keys_given_as_options_replace_the_bundles_own(tmp_path):
    """A bundle brings its own keys, so it can vouch for itself: the keys a user passes are the ones used
    (the insurers' included: a platform inventing coverage signs it with a key of its own), and without
    them the output says the keys came from the input."""
    from tests.unit.certs import INSURER, attestation

    w = current_world()
    real_insurers = w.insurer_jwks()[INSURER]
    w.insurer = KeyPair.generate()  # coverage "signed" by a key the insurer never registered
    for entry in w.credential["credentialSubject"]["coverage"]:
        entry["attestation"] = attestation(w.insurer, entry["policyNumber"], "900")
    (tmp_path / "jwks.json").write_text(json.dumps(w.jwks()))
    (tmp_path / "log.key").write_text(w.log_key)
    (tmp_path / "ins.json").write_text(json.dumps(real_insurers))
    forged = bundle(w)
    out = mp(tmp_path, content=forged)
    assert out.returncode == 0 and "VALID" in out.stdout  # self-consistent ...
    assert "note: keys were taken from the input itself where --jwks, --insurer-jwks, --log-key" in out.stderr
    out = mp(tmp_path, "--jwks", "jwks.json", "--log-key", "log.key", "--insurer-jwks", "ins.json", content=forged)
    assert out.returncode == 1, out.stdout  # ... but not signed by the insurer's registered key
    assert [ln.split()[1] for ln in out.stdout.splitlines() if ln.startswith("FAIL")] == ["insurer_attestations"]
    assert "note:" not in out.stderr
    out = mp(tmp_path, "--jwks", "jwks.json", content=bundle(current_world()))  # another platform key
    assert out.returncode == 1 and out.stdout.splitlines()[0].startswith("FAIL  signature"), out.stdout

"""`marketplace verify` and `marketplace attest`: offline, no network, no database."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from ..crypto import jws
from ..crypto.keys import KeyError_, KeyPair
from .core import verify

EXIT_VALID, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2


def _unusable(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_UNUSABLE)


def _read_json(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as e:
        _unusable(f"{path}: {e.__class__.__name__}: cannot read JSON")


def load_input(path: str) -> dict:
    """A certificate JWS, a bundle (JSON) or a PDF with the bundle attached -> bundle dict."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        _unusable(f"cannot read {path}: {e.strerror}")
    if raw.startswith(b"%PDF"):
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            found = PdfReader(io.BytesIO(raw)).attachments.get("bundle.json")
        except (PdfReadError, ValueError, KeyError) as e:
            _unusable(f"unreadable PDF: {e}")
        if not found:
            _unusable("the PDF carries no bundle.json attachment")
        raw = found[0]
    text = raw.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            _unusable("the file is neither a JWS nor JSON")
        if not isinstance(doc, dict) or not isinstance(doc.get("certificate"), str):
            _unusable("a bundle needs a 'certificate' member holding the JWS")
        return doc
    return {"certificate": text}


@click.command("verify")
@click.argument("file")
@click.option("--jwks", "jwks_file", help="Platform JWKS (default: the bundle's).")
@click.option("--insurer-jwks", "insurer_files", multiple=True, help="An insurer JWKS; repeat for several.")
@click.option("--status-list", "status_file", help="Status list credential (JWS) (default: the bundle's).")
@click.option("--receipt", "receipt_file", help="Log receipt (JSON) (default: the bundle's).")
@click.option("--log-key", "log_key_file", help="Log verifier key (note format) (default: the bundle's).")
@click.option("--json", "as_json", is_flag=True)
def verify_command(file, jwks_file, insurer_files, status_file, receipt_file, log_key_file, as_json):
    """Verify a certificate (JWS, bundle JSON or PDF) with no network. Exit 0 valid, 1 invalid, 2 unusable."""
    doc = load_input(file)
    platform = _read_json(jwks_file) if jwks_file else doc.get("platformJwks")
    if not platform:
        _unusable("no platform JWKS: pass --jwks or a bundle")
    insurers = dict(doc.get("insurerJwks") or {})
    if insurer_files:
        insurers["*"] = {"keys": [k for f in insurer_files for k in (_read_json(f).get("keys") or [])]}
    status = Path(status_file).read_text().strip() if status_file else doc.get("statusListCredential")
    receipt = _read_json(receipt_file) if receipt_file else doc.get("receipt")
    log_key = Path(log_key_file).read_text().strip() if log_key_file else doc.get("logKey")
    result = verify(doc["certificate"], platform, insurers, status, receipt=receipt, log_key=log_key)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        width = max(len(c["name"]) for c in result.checks)
        for c in result.checks:
            mark = {True: "ok  ", False: "FAIL", None: "--  "}[c["ok"]]
            click.echo(f"{mark}  {c['name'].ljust(width)}  {c['detail']}")
        click.echo("VALID" if result.valid else "INVALID")
    sys.exit(EXIT_VALID if result.valid else EXIT_INVALID)


ATTESTED = ("policyNumber", "insured", "currency", "limit", "deductible", "perils", "termStart", "termEnd")


@click.command("attest")
@click.option("--key", "key_file", required=True, help="The insurer's private OKP/Ed25519 JWK.")
@click.option("--policy", "policy_file", required=True,
              help="The attestation payload (GET /api/v1/policies/{id}/attestation-payload).")
def attest_command(key_file, policy_file):
    """Sign a policy revision's attestation offline with the insurer's own key; prints the compact JWS."""
    try:
        key = KeyPair.from_jwk(_read_json(key_file))
    except KeyError_ as e:
        _unusable(str(e))
    payload = _read_json(policy_file)
    missing = [k for k in ATTESTED if k not in payload]
    if missing:
        _unusable(f"the policy file lacks {', '.join(missing)}")
    click.echo(jws.sign({k: payload[k] for k in ATTESTED}, key, "attestation+jwt"))

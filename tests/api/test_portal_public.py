"""The public face over HTTP: the verify page (DESIGN 7: paste, upload a JWS, bundle or PDF, /verify/<id>),
its answers (Valid / Revoked / Invalid with every check in words), bad input, CSRF and the shared rate limit,
and the certificate PDF a regulator files (QR code to the verify page, non-Latin-1 names)."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import date, timedelta

from PIL import Image, ImageChops
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select

from marketplace.certificates.models import Certificate
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.policies.models import Policy
from tests.portal_client import PortalClient, text_of

R = "/api/v1"


def issue(world, exchange_id: str | None = None) -> dict:
    ob = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=exchange_id or world.org("sakura").id,
                                                                   superseded_at=None))
    r = world.call("post", f"{R}/certificates", "sakura", json={"obligation": ob})
    assert r.status_code == 201, r.json
    return r.json


def public(world) -> PortalClient:
    return PortalClient(world.app)  # nobody signed in


def verdict(resp) -> str:
    m = re.search(r"<h1[^>]*>\s*([^<]+?)\s*</h1>", resp.get_data(as_text=True))
    return m.group(1) if m else ""


def checks(resp) -> dict[str, tuple[str, str]]:
    """{plain check name: (Passed|Failed|Not checked, detail)} from the checks table."""
    body = resp.get_data(as_text=True)
    table = body[body.index('<table class="checks">'):]
    rows = re.findall(r'<th scope="row">(.*?)<br>.*?</th>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>', table, re.S)
    return {name.strip(): (text_of(result), text_of(detail)) for name, result, detail in rows}


def paste(c: PortalClient, text: str):
    return c.post("/verify", {"certificate": text}, page="/verify")


def upload(c: PortalClient, content: bytes, name: str):
    if len(content) < 256 * 1024:
        return c.post("/verify", {"file": (io.BytesIO(content), name)}, page="/verify")
    # large: encode the form here (the test client would spool it to a temporary file it never closes)
    boundary = "----verify-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{c.token("/verify")}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return c.client.post("/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                         headers={"Accept": "text/html"})


def field_error(resp, name: str) -> str:
    m = re.search(rf'<p class="field-error" id="{name}-error">(.*?)</p>', resp.get_data(as_text=True), re.S)
    return text_of(m.group(1)) if m else ""


def test_the_form_is_the_contract(world):
    body = public(world).get("/verify").get_data(as_text=True)
    assert re.search(r'<label for="certificate">Certificate</label>', body)
    assert re.search(r'<textarea id="certificate" name="certificate"', body)
    assert re.search(r'<label for="file">File \(JWS, bundle JSON or PDF\)</label>', body)
    assert re.search(r'<input type="file" id="file" name="file"', body)
    assert re.search(r'<button type="submit">Verify</button>', body)
    assert 'enctype="multipart/form-data"' in body and 'name="csrf_token"' in body
    assert body.count("<h1") == 1


def test_a_pasted_certificate_is_valid_with_its_summary_and_every_check(world):
    cert = issue(world)
    r = paste(public(world), cert["jws"])
    assert r.status_code == 200 and verdict(r) == "Valid"
    text = text_of(r)
    for fact in ("Exchange Sakura Digital Exchange", "Licence Kanto-FB-00099 (JP)", "Period Jan 1, 2027 – Mar 31, 2027",
                 "Obligation ¥5,883,337,500", "Insurance offset ¥2,518,359,909", "Net reserve required ¥3,364,977,591",
                 "Rule-set JP-FSA-2026@1", f"Certificate urn:uuid:{cert['id']}"):
        assert fact in text, fact
    assert "Tokio Mutual Cyber TMC-2026-0001 ¥2,000,000,000 ¥1,868,333,334" in text
    assert "Tokio Mutual Cyber TMC-USD-0042 $5,000,000.00 ¥650,026,575" in text  # allocated in its own currency
    got = checks(r)
    assert list(got) == ["Signature of the service", "Signing key", "Validity period", "Revocation status",
                         "Transparency log", "Insurers' attestations", "Amounts add up", "Policies still current"]
    assert all(result == "Passed" for result, _ in got.values())
    assert got["Revocation status"][1] == "not revoked"
    # the same answer as the verify API, check for check
    api = world.client.post(f"{R}/verify", json={"certificate": cert["jws"]}).json
    assert [c["detail"] for c in api["checks"]] == [detail for _, detail in got.values()]


def test_a_revoked_certificate_says_revoked_with_the_reason_in_words(world):
    cert = issue(world)
    tmc = db.session.scalar(select(Policy.id).filter_by(number="TMC-2026-0001"))
    when = (date.today() + timedelta(days=90)).isoformat()
    assert world.call("post", f"{R}/policies/{tmc}/cancel", "tokio", json={"effective_on": when}).status_code == 200
    reason = f"revoked: policy TMC-2026-0001 cancelled on {when}"
    c = public(world)
    for r in (paste(c, cert["jws"]), c.get(f"/verify/{cert['id']}")):
        assert r.status_code == 200 and verdict(r) == "Revoked"
        text = text_of(r)
        assert text.index("Revoked") < text.index(reason) < text.index("What the certificate says")
        assert "revoked on" in text  # and when
        assert checks(r)["Revocation status"] == ("Failed", reason)
        assert "Sakura Digital Exchange" in text  # the summary is still shown: the signature holds


def test_a_tampered_certificate_is_invalid_and_its_claims_are_not_shown(world):
    cert = issue(world)
    h, p, s = cert["jws"].split(".")
    c = public(world)
    r = paste(c, f"{h}.{p}.{s[:-4]}AAAA")
    assert r.status_code == 200 and verdict(r) == "Invalid"
    assert checks(r)["Signature of the service"][0] == "Failed"
    assert "What the certificate says" not in text_of(r) and "Sakura" not in text_of(r)
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    payload["credentialSubject"]["netReserveRequired"] = "0"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    r = paste(c, f"{h}.{forged}.{s}")
    assert verdict(r) == "Invalid" and checks(r)["Signature of the service"] == (
        "Failed", "the signature does not verify with the platform key")


def test_the_pdf_verifies_by_its_attachment_and_by_its_printed_jws(world):
    cert = issue(world)
    pdf = world.call("get", f"{R}/certificates/{cert['id']}.pdf", "sakura").get_data()
    c = public(world)
    r = upload(c, pdf, "certificate.pdf")
    assert r.status_code == 200 and verdict(r) == "Valid", text_of(r)[:500]
    assert checks(r)["Transparency log"][0] == "Passed"
    # printed again (no attachment): the JWS printed on the page still verifies
    writer = PdfWriter()
    for pg in PdfReader(io.BytesIO(pdf)).pages:
        writer.add_page(pg)
    out = io.BytesIO()
    writer.write(out)
    assert "bundle.json" not in PdfReader(io.BytesIO(out.getvalue())).attachments
    r = upload(c, out.getvalue(), "reprinted.pdf")
    assert verdict(r) == "Valid", text_of(r)[:500]


def test_a_bundle_and_a_jws_file_verify(world):
    cert = issue(world)
    bundle = world.call("get", f"{R}/certificates/{cert['id']}/bundle", "sakura").get_data()
    c = public(world)
    assert verdict(upload(c, bundle, "certificate.json")) == "Valid"
    assert verdict(upload(c, cert["jws"].encode() + b"\n", "certificate.jws")) == "Valid"
    # the bundle's receipt is checked, as the verify API checks one sent with the certificate
    doc = json.loads(bundle)
    doc["receipt"]["leafIndex"] = 5
    r = upload(c, json.dumps(doc).encode(), "edited.json")
    assert verdict(r) == "Invalid" and checks(r)["Transparency log"][0] == "Failed"


def test_bad_input_is_an_answer_or_an_error_by_the_field_never_a_500(world):
    cert = issue(world)
    c = public(world)
    r = c.post("/verify", {"certificate": "  "}, page="/verify")
    assert r.status_code == 422 and "Paste a certificate" in field_error(r, "certificate")
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    r = c.post("/verify", {"certificate": cert["jws"], "file": (io.BytesIO(b"x"), "a.jws")}, page="/verify")
    assert r.status_code == 422 and "not both" in field_error(r, "certificate")
    for garbage in ("garbage", "a.b.c", "." * 5000, "eyJhbGciOiJub25lIn0.e30.", "\u202e\x00\x01 ☃"):
        r = paste(c, garbage)
        assert r.status_code == 200 and verdict(r) == "Invalid", garbage
    r = paste(c, "x" * 70_000)
    assert verdict(r) == "Invalid" and "larger than" in checks(r)["Signature of the service"][1]
    unreadable = [(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "photo.pdf"),  # not a PDF, named .pdf
                  (b"%PDF-1.4 garbage", "broken.pdf"),
                  (b'{"certificate": ', "broken.json"),
                  (b"[1, 2]", "list.json"),
                  (b'{"certificate": 12}', "wrong.json"),
                  (b"[" * 100_000, "deep.json"),
                  (b"", "empty.jws"),
                  (b"x" * (1024 * 1024 + 1), "huge.jws")]
    for content, name in unreadable:
        r = upload(c, content, name)
        assert r.status_code == 422, (name, r.status_code)
        assert field_error(r, "file"), name
    r = upload(c, b"not a certificate at all", "notes.pdf")  # text named .pdf: read as a JWS, which it is not
    assert r.status_code == 200 and verdict(r) == "Invalid"
    too_big = upload(c, b"x" * (3 * 1024 * 1024), "big.pdf")
    assert too_big.status_code == 413 and "text/html" in too_big.content_type


def test_verify_by_id_is_the_qr_codes_target(world):
    cert = issue(world)
    c = public(world)
    for path in (f"/verify/{cert['id']}", f"/verify/urn:uuid:{cert['id']}"):
        r = c.get(path)
        assert r.status_code == 200 and verdict(r) == "Valid" and "Sakura Digital Exchange" in text_of(r)
    for unknown in ("00000000-0000-0000-0000-000000000000", "nope", "x" * 500, "urn:uuid:", "%00"):
        r = c.get(f"/verify/{unknown}")
        assert r.status_code == 404 and "Page not found" in text_of(r)


def test_the_verify_form_needs_its_csrf_token(world):
    cert = issue(world)
    r = public(world).post("/verify", {"certificate": cert["jws"]}, csrf=False)
    assert r.status_code == 400 and "This form has expired" in text_of(r)


def test_the_page_shares_the_verify_apis_rate_limit(world, monkeypatch):
    monkeypatch.setitem(world.app.config, "RATELIMIT_VERIFY_PER_ADDRESS", "3/minute")
    c = public(world)
    token = c.token("/verify")
    for _ in range(3):
        assert world.client.post(f"{R}/verify", json={"certificate": "x"}).status_code == 200
    r = c.post("/verify", {"certificate": "x", "csrf_token": token})
    assert r.status_code == 429 and "text/html" in r.content_type and int(r.headers["Retry-After"]) >= 1
    assert "Too many verifications" in text_of(r)
    assert c.get("/verify/00000000-0000-0000-0000-000000000000").status_code == 429
    assert c.get("/verify").status_code == 200  # the form itself costs nothing


def test_japanese(world):
    cert = issue(world)
    c = public(world)
    r = c.post("/verify", {"certificate": cert["jws"]}, page="/verify",
               headers={"Accept-Language": "ja"})
    assert verdict(r) == "有効" and "本サービスの署名" in text_of(r) and "合格" in text_of(r)
    assert "￥5,883,337,500" in text_of(r) or "¥5,883,337,500" in text_of(r)
    body = c.get("/verify", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<label for="certificate">証明書 (Certificate)</label>' in body  # the contract's name kept (DESIGN 7)
    assert "ファイル（JWS、バンドルJSONまたはPDF）" in body


def test_home_says_what_this_is_and_links_to_verify_and_sign_in(world):
    r = public(world).get("/")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "liability reserve" in text_of(r)
    assert 'href="/verify"' in body and 'href="/login"' in body and 'href="/api/docs"' in body


def _qr_matches(page, url: str) -> bool:
    import segno

    expected = io.BytesIO()
    segno.make(url, error="m").save(expected, kind="png", scale=3, border=2)
    want = Image.open(expected).convert("L")
    for img in page.images:
        got = img.image.convert("L")
        if got.size == want.size and ImageChops.difference(got, want).getbbox() is None:
            return True
    return False


def test_the_pdf_is_a_document_a_regulator_files(world):
    cert = issue(world)
    pdf = world.call("get", f"{R}/certificates/{cert['id']}.pdf", "sakura").get_data()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1 and "bundle.json" in reader.attachments
    text = " ".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    url = f"{world.app.config['BASE_URL']}/verify/{cert['id']}"
    for fact in ("Reserve-offset certificate", "Regulator Financial Services Agency (Japan)",
                 "Exchange Sakura Digital Exchange", "Kanto-FB-00099 (jurisdiction JP)", "2027-01-01 to 2027-03-31",
                 "JP-FSA-2026@1", cert["credential"]["credentialSubject"]["ruleset"]["digest"],
                 "Volume (spot)", "x 0.0025%", "Unregistered custodian",
                 "Tokio Mutual Cyber A TMC-2026-0001 JPY 2,000,000,000 JPY 1,868,333,334",
                 "Obligation JPY 5,883,337,500", "Insurance offset (sum of eligible offsets) JPY 2,518,359,909",
                 "Net cash reserve required JPY 3,364,977,591", "Status at issue valid", url):
        assert fact in flat, fact
    assert cert["jws"] in re.sub(r"\s+", "", text)  # the JWS in full
    assert _qr_matches(reader.pages[0], url)  # the QR code opens the verify page
    assert verdict(public(world).get(url.removeprefix(world.app.config["BASE_URL"]))) == "Valid"
    # printed after a revocation, it says so
    world.call("post", f"{R}/insurers/{world.org('tokio').id}/suspend", "fsa", json={})
    pdf = world.call("get", f"{R}/certificates/{cert['id']}.pdf", "sakura").get_data()
    flat = re.sub(r"\s+", " ", PdfReader(io.BytesIO(pdf)).pages[0].extract_text())
    assert "REVOKED on" in flat and "insurer Tokio Mutual Cyber suspended by the JP regulator" in flat


def test_names_the_pdf_font_cannot_print_do_not_break_it(world):
    exchange, insurer = world.org("sakura"), world.org("tokio")
    world.token("sakura")  # its API client, before the names change (the fixture finds orgs by name)
    exchange.name, insurer.name = "さくらデジタル取引所", "東京海上サイバー € Mutual"
    db.session.commit()
    cert = issue(world, exchange.id)
    r = world.call("get", f"{R}/certificates/{cert['id']}.pdf", "sakura")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    flat = re.sub(r"\s+", " ", PdfReader(io.BytesIO(r.get_data())).pages[0].extract_text())
    assert "Exchange ??????????" in flat and "EUR Mutual" in flat and "'?' marks those characters" in flat
    page = public(world).get(f"/verify/{cert['id']}")  # the page shows them exactly
    assert verdict(page) == "Valid"
    assert "さくらデジタル取引所" in text_of(page) and "東京海上サイバー € Mutual" in text_of(page)
    stored = db.session.get(Certificate, cert["id"])
    assert stored.credential["credentialSubject"]["name"] == "さくらデジタル取引所"

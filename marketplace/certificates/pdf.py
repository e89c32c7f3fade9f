"""A one-page PDF of a certificate: the facts, a QR code to its public verification, the JWS in full,
and the offline bundle embedded as a file attachment (bundle.json)."""

from __future__ import annotations

import io
import json

import segno
from fpdf import FPDF

from ..domain.money import Money
from .models import Certificate


def _money(minor: str, currency: str) -> str:
    return Money(int(minor), currency).format()


def render(cert: Certificate, bundle: dict, verify_url: str) -> bytes:
    c, s = cert.credential, cert.credential["credentialSubject"]
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, "Reserve-offset certificate", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    rows = [
        ("Exchange", f"{s['name']} ({s['jurisdiction']} licence {s['licenseNumber']})"),
        ("Period", f"{s['period']['start']} to {s['period']['end']}"),
        ("Rule-set", f"{s['ruleset']['id']}@{s['ruleset']['version']}"),
        ("Rule-set digest", s["ruleset"]["digest"]),
        ("Obligation", _money(s["obligation"], s["currency"])),
        ("Insurance offset", _money(s["insuranceOffset"], s["currency"])),
        ("Net cash reserve", _money(s["netReserveRequired"], s["currency"])),
        ("Issuer", c["issuer"]),
        ("Valid", f"{c['validFrom']} to {c['validUntil']}"),
        ("Certificate", c["id"]),
        ("Key id", cert.kid),
    ]
    qr = io.BytesIO()
    segno.make(verify_url, error="m").save(qr, kind="png", scale=3, border=2)
    qr.seek(0)
    pdf.image(qr, x=160, y=10, w=38)
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(38, 5.5, label)
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(110 if pdf.get_y() < 50 else 150, 5.5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, "Coverage", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8.5)
    for e in s["coverage"]:
        pdf.multi_cell(0, 5, f"{e['policyNumber']}  {e['insurer']['name']}: allocated "
                             f"{_money(e['allocated'], e['currency'])}, eligible offset "
                             f"{_money(e['eligibleOffset'], s['currency'])}", new_x="LMARGIN", new_y="NEXT")
    if not s["coverage"]:
        pdf.cell(0, 5, "none", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, f"Verify: {verify_url}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Signed certificate (compact JWS):", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", size=4.2)
    pdf.multi_cell(0, 1.9, cert.jws, new_x="LMARGIN", new_y="NEXT")
    pdf.embed_file(bytes=json.dumps(bundle, indent=1).encode(), basename="bundle.json",
                   desc="Offline verification bundle: certificate, JWKS, status list", mime_type="application/json")
    return bytes(pdf.output())

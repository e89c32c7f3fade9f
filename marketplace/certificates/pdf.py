"""The certificate as a document a regulator files (DESIGN 5): who issued it and for whom, the basis (period,
rule-set), the obligation's line items, each cover with its insurer and rating, the offset and net cash
reserve, validity and status, a QR code to the public verify page, and the JWS in full. The offline
bundle is embedded as a file attachment (bundle.json), so the PDF alone verifies with `marketplace verify`.

English only: fpdf2's core fonts print Latin-1, and a deployment need not carry a CJK font. A name in
another script (a Japanese exchange, say) is printed with "?" for what the font cannot show, and flagged;
the signed JWS printed below, and the verify page, carry it exactly.
"""

from __future__ import annotations

import io
import json
import unicodedata
from datetime import UTC, datetime

import segno
from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlalchemy import or_, select

from ..db import utcnow
from ..domain.money import Money
from ..extensions import db
from ..obligations.models import ObligationRecord
from ..registry import service as registry
from ..registry.models import Exchange, Organization, OrgHistory
from ..urns import INSURER_URN_PREFIX
from .models import Certificate

SERVICE = "Reserve-offset marketplace"
_PUNCT = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2026": "...", "\u20ac": "EUR ", "\u00a0": " "})
GREY, INK, LINE = (90, 98, 108), (20, 24, 28), (200, 205, 211)


def _money(minor, currency: str) -> str:
    try:
        return Money(int(minor), currency).format()
    except Exception:  # a stored line the domain no longer reads: show it as stored rather than fail
        return f"{currency} {minor}"


def _when(dt: datetime | None) -> str:
    if dt is None:
        return "-"
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _rfc3339(text: str) -> str:
    try:
        return _when(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (TypeError, ValueError):
        return str(text)


class _Doc(FPDF):
    """FPDF with Latin-1-safe text and the few styles this document uses."""

    def __init__(self):
        super().__init__(format="A4")
        self.replaced = False  # some text had characters the core font cannot print
        self.set_auto_page_break(auto=True, margin=12)
        self.set_margins(14, 12, 14)

    def safe(self, value) -> str:
        text = str(value if value is not None else "-")
        try:
            text.encode("latin-1")
            return text
        except UnicodeEncodeError:
            pass
        text = unicodedata.normalize("NFKC", text).translate(_PUNCT)  # full-width forms, dashes, quotes
        out = "".join(c if ord(c) < 256 else "?" for c in text)
        if out != text:
            self.replaced = True
        return out

    def heading(self, text: str) -> None:
        self.ln(1)
        self.set_font("Helvetica", "B", 10)
        self.set_text_color(*INK)
        self.cell(0, 5.2, self.safe(text), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*LINE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1)

    def facts(self, rows: list[tuple[str, str]], width: float | None = None, label: float = 36) -> None:
        width = width or (self.w - self.l_margin - self.r_margin - label)
        for name, value in rows:
            self.set_font("Helvetica", "B", 8.5)
            self.set_text_color(*GREY)
            self.cell(label, 4.3, self.safe(name))
            self.set_font("Helvetica", size=8.5)
            self.set_text_color(*INK)
            self.multi_cell(width, 4.3, self.safe(value), align="L", new_x="LMARGIN", new_y="NEXT")

    def grid(self, head: tuple[str, ...] | None, rows: list[tuple[str, ...]], widths: tuple[float, ...],
             align: tuple[str, ...], bold_last: bool = False) -> None:
        self.set_font("Helvetica", size=8)
        self.set_text_color(*INK)
        self.set_draw_color(*LINE)
        heading = FontFace(emphasis="BOLD", color=GREY, fill_color=(244, 246, 248))
        with self.table(col_widths=widths, text_align=align, line_height=3.9, borders_layout="HORIZONTAL_LINES",
                        headings_style=heading, first_row_as_headings=head is not None, padding=(0.6, 1.2)) as table:
            if head is not None:
                table.row([self.safe(h) for h in head])
            for i, r in enumerate(rows):
                style = FontFace(emphasis="BOLD") if bold_last and i == len(rows) - 1 else None
                table.row([self.safe(c) for c in r], style=style)


def _regulator(exchange: Exchange | None) -> str:
    reg = db.session.get(Organization, exchange.regulator_id) if exchange is not None else None
    return reg.name if reg is not None else "-"


def _rating_at(insurer_id: str, at: datetime, jurisdiction: str | None) -> str:
    """The rating the regulator of the certificate's jurisdiction gave the insurer when the certificate was
    issued: the value before that regulator's first later change, else its current one. (A change recorded
    without a jurisdiction predates per-regulator ratings: it was everyone's.)"""
    later = db.session.scalar(select(OrgHistory).where(
        OrgHistory.org_id == insurer_id, OrgHistory.field == "rating", OrgHistory.changed_at > at,
        or_(OrgHistory.jurisdiction == jurisdiction, OrgHistory.jurisdiction.is_(None)))
        .order_by(OrgHistory.changed_at, OrgHistory.id).limit(1))
    if later is not None:
        return later.old_value or "none"
    if db.session.get(Organization, insurer_id) is None:
        return "-"
    return registry.rating_in(insurer_id, jurisdiction) or "none"


def _component(name: str) -> str:
    """volume:spot -> Volume (spot); incident:2024-05-31:hack -> Incident (its explanation says which)."""
    base, _, rest = str(name).partition(":")
    label = base.replace("_", " ").capitalize()
    return f"{label} ({rest})" if rest and base in ("volume", "custody") else label


def _lines(ob: ObligationRecord | None, s: dict) -> list[tuple[str, str, str]]:
    rows = []
    for line in (ob.lines if ob is not None and isinstance(ob.lines, list) else []):
        amount = line.get("amount") or {}
        rows.append((_component(line.get("component", "")), str(line.get("explanation", "")),
                     _money(amount.get("amount", "0"), amount.get("currency", s["currency"]))))
    rows.append(("Obligation", "total under the rule-set", _money(s["obligation"], s["currency"])))
    return rows


def render(cert: Certificate, bundle: dict, verify_url: str) -> bytes:
    c, s = cert.credential, cert.credential["credentialSubject"]
    exchange = db.session.get(Exchange, cert.exchange_id)
    ob = db.session.get(ObligationRecord, cert.obligation_id)
    pdf = _Doc()
    pdf.set_title(f"Reserve-offset certificate {cert.id}")
    pdf.set_author(c["issuer"])
    pdf.set_subject(pdf.safe(f"{s['name']}, {s['period']['start']} to {s['period']['end']}"))
    pdf.set_creator(SERVICE)
    pdf.add_page()

    qr = io.BytesIO()
    segno.make(verify_url, error="m").save(qr, kind="png", scale=3, border=2)
    qr.seek(0)
    pdf.image(qr, x=pdf.w - pdf.r_margin - 34, y=10, w=34)
    pdf.set_xy(pdf.w - pdf.r_margin - 34, 44)
    pdf.set_font("Helvetica", size=6.5)
    pdf.set_text_color(*GREY)
    pdf.cell(34, 3, "Scan to verify", align="C")

    pdf.set_xy(pdf.l_margin, 12)
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 8, "Reserve-offset certificate", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(140, 4.4, "Certificate of an exchange's liability-reserve obligation, the insurance offset "
                             "counted against it and the net cash reserve it must hold (W3C Verifiable Credential, "
                             "signed by the issuer).", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    pdf.facts([("Certificate", c["id"]), ("Issuer", f"{SERVICE} ({c['issuer']})"),
               ("Regulator", _regulator(exchange)),
               ("Exchange", s["name"]),
               ("Licence", f"{s['licenseNumber']} (jurisdiction {s['jurisdiction']})")], width=110)

    pdf.heading("Basis")
    pdf.facts([
        ("Period", f"{s['period']['start']} to {s['period']['end']}" + (f" ({ob.period})" if ob else "")),
        ("Rule-set", f"{s['ruleset']['id']}@{s['ruleset']['version']}"),
        ("Rule-set digest", s["ruleset"]["digest"]),
        ("Obligation computed", f"revision {ob.revision}, {_when(ob.computed_at)}" if ob else "-"),
    ])

    pdf.heading("Obligation: line items")
    pdf.grid(("Component", "How it was computed", "Amount"), _lines(ob, s), (34, 112, 36), ("LEFT", "LEFT", "RIGHT"),
             bold_last=True)

    pdf.heading("Insurance cover counted in the offset")
    covers = []
    for e in s["coverage"]:
        urn = e["insurer"]["id"]
        rating = _rating_at(urn.removeprefix(INSURER_URN_PREFIX), cert.created_at, s.get("jurisdiction")) \
            if urn.startswith(INSURER_URN_PREFIX) else "-"
        covers.append((e["insurer"]["name"], rating, e["policyNumber"], _money(e["allocated"], e["currency"]),
                       _money(e["eligibleOffset"], s["currency"])))
    if covers:
        head = f"{s['jurisdiction']} rating at issue" if s.get("jurisdiction") else "Rating at issue"
        pdf.grid(("Insurer", head, "Policy", "Allocated", "Eligible offset"), covers,
                 (52, 24, 38, 34, 34), ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"))
    else:
        pdf.set_font("Helvetica", size=8.5)
        pdf.cell(0, 5, "None: no insurance counts against this obligation.", new_x="LMARGIN", new_y="NEXT")

    pdf.heading("Result")
    cur = s["currency"]
    pdf.grid(None, [("Obligation", _money(s["obligation"], cur)),
                    ("Insurance offset (sum of eligible offsets)", _money(s["insuranceOffset"], cur)),
                    ("Net cash reserve required", _money(s["netReserveRequired"], cur))],
             (146, 36), ("LEFT", "RIGHT"), bold_last=True)

    pdf.heading("Validity and status")
    now = utcnow()
    status = "valid" if cert.status == "valid" else f"REVOKED on {_when(cert.revoked_at)}: {cert.revoked_reason}"
    pdf.facts([
        ("Valid", f"{_rfc3339(c['validFrom'])} to {_rfc3339(c['validUntil'])}"),
        ("Status at issue", f"valid: issued {_when(cert.created_at)}, signed with key {cert.kid}, "
                            "appended to the transparency log"),
        ("Status on printing", f"{status} (as of {_when(now)})"),
        ("Verify", f"{verify_url} - the current verification, including revocation, is on this page (the QR "
                   "code opens it). Offline: marketplace verify <this PDF> (the verification bundle is attached "
                   "as bundle.json)."),
    ])
    if pdf.replaced:
        pdf.set_font("Helvetica", "I", 7.5)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(0, 4, "Some names are in a script this document cannot print; '?' marks those characters. "
                             "The signed certificate below and the verify page carry them exactly.",
                       new_x="LMARGIN", new_y="NEXT")

    pdf.heading("Signed certificate (compact JWS)")
    pdf.set_font("Courier", size=4.8)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 2.0, cert.jws, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.embed_file(bytes=json.dumps(bundle, indent=1).encode(), basename="bundle.json",
                   desc="Offline verification bundle: certificate, JWKS, status list", mime_type="application/json")
    return bytes(pdf.output())

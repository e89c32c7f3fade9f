"""The product's main journey in one browser run, each actor in their own session, by labels only:

an exchange asks for cover and an insurer quotes, binds and attests the policy; the exchange attaches it to
its obligation, requests a certificate and downloads its PDF; the regulator suspends the insurer and sees the
certificate revoked; the public verify page, given the same PDF, says Revoked with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in

OFFERING = "Exchange crime and custody cover (JPY)"
POLICY = "JRN-2027-0001"


def _session(browser, live, who):
    context = browser.new_context(base_url=live.url, locale="en-US", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, live, who)
    return context, page


def test_bind_attest_attach_certify_suspend_and_verify_revoked(browser, live, tmp_path):
    ex_ctx, ex = _session(browser, live, "sakura")
    ins_ctx, ins = _session(browser, live, "tokio")
    reg_ctx, reg = _session(browser, live, "fsa")
    try:
        # the exchange finds the insurer's offering and asks for cover
        ex.get_by_role("navigation", name="Main").get_by_role("link", name="Market").click()
        ex.get_by_role("button", name="Search").click()
        expect(ex).to_have_url(re.compile(r"/market\?"))  # the results, not the page the search was made on
        ex.get_by_role("region", name=OFFERING).get_by_role("link", name=f"Request cover from {OFFERING}").click()
        ex.get_by_label("Limit (JPY)").fill("600,000,000")
        ex.get_by_label("Term start").fill("2027-01-01")
        ex.get_by_label("Term (months)").fill("12")
        ex.get_by_role("button", name="Request cover").click()
        # the request's own page: the form's heading is "Request cover: ...", which this does not match
        expect(ex.get_by_role("heading", level=1)).to_have_text(re.compile(r"Request (\w{8})"), use_inner_text=True)
        heading = ex.get_by_role("heading", level=1).inner_text()
        reference = re.search(r"Request (\w{8})", heading).group(1)

        # the insurer quotes; the exchange accepts; the insurer binds and attests the policy
        ins.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
        ins.get_by_role("link", name=f"Request {reference}").click()
        ins.get_by_label("Premium (JPY)").fill("6,600,000")
        ins.get_by_role("button", name="Quote", exact=True).click()
        # each step is done (its page is back) before another session acts on it
        expect(ins.get_by_role("status").first).to_contain_text("Quote sent to", use_inner_text=True)
        ex.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
        ex.get_by_role("button", name=f"Accept quote for {OFFERING}").first.click()
        expect(ex.get_by_role("status").first).to_contain_text("Quote accepted", use_inner_text=True)
        ins.reload()
        ins.get_by_label("Policy number").fill(POLICY)
        ins.get_by_role("button", name="Bind policy").click()
        expect(ins.get_by_role("status").first).to_contain_text(f"Policy {POLICY} bound", use_inner_text=True)
        ins.get_by_role("navigation", name="Main").get_by_role("link", name="Attestations").click()
        ins.get_by_role("button", name=f"Attest {POLICY}").click()
        expect(ins.get_by_text(f"Revision 1 of policy {POLICY} is attested")).to_be_visible()
        shot(ins, "journey-insurer-attested")

        # the exchange attaches the new policy's limit and gets a certificate, as a PDF
        ex.get_by_role("navigation", name="Main").get_by_role("link", name="Cover").click()
        value = ex.locator("#policy option", has_text=POLICY).get_attribute("value")
        ex.get_by_label("Policy").select_option(value)
        ex.get_by_label("Amount").fill("600,000,000")
        ex.get_by_role("button", name="Attach cover").click()
        expect(ex.get_by_role("status")).to_contain_text(f"Attached ¥600,000,000 of policy {POLICY}.",
                                                         use_inner_text=True)
        ex.get_by_role("navigation", name="Main").get_by_role("link", name="Certificates").click()
        ex.get_by_label("Obligation").select_option(index=0)
        ex.get_by_role("button", name="Request certificate").click()
        # the certificate's own page (the list's heading is "Certificates"), then its id from the URL
        expect(ex.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Certificate for "), use_inner_text=True)
        cert_id = ex.url.rstrip("/").rsplit("/", 1)[1]
        assert POLICY in ex.content()  # the new cover is on the certificate
        with ex.expect_download() as info:
            ex.get_by_role("link", name="Download PDF").click()
        pdf = Path(tmp_path) / "certificate.pdf"
        info.value.save_as(pdf)
        assert pdf.read_bytes()[:4] == b"%PDF"
        shot(ex, "journey-exchange-certificate")

        # the regulator suspends the insurer; the certificate that relied on it is revoked
        reg.get_by_role("navigation", name="Main").get_by_role("link", name="Registry").click()
        reg.get_by_role("button", name="Suspend Tokio Mutual Cyber").click()
        reg.get_by_label("Reason").fill("Solvency margin below the requirement")
        reg.get_by_role("button", name="Suspend Tokio Mutual Cyber").click()
        expect(reg.get_by_role("status")).to_contain_text("Tokio Mutual Cyber is suspended in JP", use_inner_text=True)
        reg.get_by_role("navigation", name="Main").get_by_role("link", name="Certificates").click()
        reg.get_by_label("Exchange").select_option(label="Sakura Digital Exchange")
        reg.get_by_label("Status", exact=True).select_option(label="Revoked")
        reg.get_by_role("button", name="Apply filters").click()
        expect(reg).to_have_url(re.compile(r"[?&]status=revoked(&|$)"))  # the filtered list, not the unfiltered one
        found = reg.get_by_role("table", name=re.compile("Certificates found"))
        expect(found).to_contain_text(cert_id, use_inner_text=True)
        expect(found).to_contain_text("Tokio Mutual Cyber suspended", use_inner_text=True)
        shot(reg, "journey-regulator-revoked")

        # anyone with the PDF: the public verify page says Revoked, and why
        public = browser.new_page(base_url=live.url, locale="en-US")
        public.goto("/verify")
        public.get_by_label("File (JWS, bundle JSON or PDF)").set_input_files(str(pdf))
        public.get_by_role("button", name="Verify").click()
        expect(public.get_by_role("heading", name="Revoked", exact=True)).to_be_visible()
        reason = "revoked: insurer Tokio Mutual Cyber suspended by the JP regulator"
        expect(public.get_by_text(reason).first).to_be_visible()
        expect(public.get_by_text(POLICY).first).to_be_visible()
        shot(public, "journey-public-revoked")
        public.close()
    finally:
        for ctx in (ex_ctx, ins_ctx, reg_ctx):
            ctx.close()

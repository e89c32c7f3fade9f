"""The coverage market in a browser: an insurer lists an offering, an exchange finds it and requests cover,
the insurer quotes, the exchange accepts, the insurer binds, and the policy's number is on the request page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in

TITLE = "E2E crime cover"


def test_list_request_quote_accept_bind(browser, page, live):
    # the insurer lists an offering, typing amounts as people write them
    sign_in(page, live, "tokio")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Offerings").click()
    page.get_by_role("link", name="Create an offering").click()
    page.get_by_label("Title").fill(TITLE)
    for peril in ("Theft or hack", "Insider fraud", "Operational failure"):
        page.get_by_label(peril).check()
    page.get_by_label("JP", exact=True).check()
    page.get_by_label("Currency").select_option("JPY")
    page.get_by_label("Minimum limit per insured").fill("100,000,000")
    page.get_by_label("Maximum limit per insured").fill("1,000,000,000")
    page.get_by_label("Total capacity").fill("¥3,000,000,000")
    page.get_by_label("Deductible").fill("abc")
    page.get_by_label("Indicative rate").fill("0.011")
    page.get_by_role("button", name="Create offering").click()
    # refused: the error is next to the field, and what was typed is still there
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Deductible")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Total capacity")).to_have_value("¥3,000,000,000")
    page.get_by_label("Deductible").fill("10,000,000")
    page.get_by_role("button", name="Create offering").click()
    expect(page).to_have_url(re.compile(r"/market/offerings$"))  # the form was at /market/offerings/new
    row = page.get_by_role("row").filter(has_text=TITLE)
    expect(row).to_contain_text("¥3,000,000,000", use_inner_text=True)
    expect(row).to_contain_text("Listed", use_inner_text=True)
    expect(page.get_by_role("button", name=f"Withdraw {TITLE}")).to_be_visible()
    shot(page, "market-offerings")

    # the exchange finds it, sees it would be eligible, and requests cover
    ctx = browser.new_context(base_url=live.url, locale="en-US")
    ctx.set_default_timeout(15_000)
    ex = ctx.new_page()
    sign_in(ex, live, "sakura")
    ex.get_by_role("navigation", name="Main").get_by_role("link", name="Market").click()
    ex.get_by_label("Limit you need").fill("500,000,000")
    ex.get_by_label("Currency").select_option("JPY")
    ex.get_by_role("button", name="Search").click()
    # the results: the page the search was made on lists the same offerings, with no limit asked for
    expect(ex).to_have_url(re.compile(r"[?&]limit="))
    card = ex.get_by_role("region", name=TITLE)
    expect(card).to_contain_text("Eligible", use_inner_text=True)
    expect(card).not_to_contain_text("Not eligible", use_inner_text=True)
    hot = ex.get_by_role("region", name="Hot-wallet theft cover")
    expect(hot).to_contain_text("Not eligible", use_inner_text=True)
    expect(hot).to_contain_text("Insurer rating: rating BBB; minimum A", use_inner_text=True)
    shot(ex, "market-search")
    card.get_by_role("link", name=f"Request cover from {TITLE}").click()
    ex.get_by_label("Limit (JPY)").fill("500,000,000")
    ex.get_by_label("Term start").fill("2027-04-01")
    ex.get_by_label("Term (months)").fill("12")
    ex.get_by_label("Message to the insurer").fill("Cover for FY2027")
    ex.get_by_role("button", name="Request cover").click()
    heading = ex.get_by_role("heading", level=1)
    # the request's own page: the form's heading, "Request cover: ...", also starts with "Request "
    expect(heading).to_have_text(re.compile(r"Request (\w{8})"), use_inner_text=True)
    expect(heading).to_have_text(re.compile(r"^Request "), use_inner_text=True)
    reference = re.search(r"Request (\w{8})", heading.inner_text()).group(1)

    # the insurer quotes
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    page.get_by_role("link", name=f"Request {reference}").click()
    expect(page.get_by_label("Limit (JPY)")).to_have_value("500,000,000")  # the requested terms, ready to quote
    page.get_by_label("Premium (JPY)").fill("5,500,000")
    shot(page, "market-request-quote")
    page.get_by_role("button", name="Quote", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Quote sent to Sakura Digital Exchange",
                                                             use_inner_text=True)

    # the exchange accepts the quote from its list of requests
    ex.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    expect(ex.get_by_role("row").filter(has_text=reference)).to_contain_text("¥5,500,000", use_inner_text=True)
    ex.get_by_role("button", name=f"Accept quote for {TITLE}").click()
    expect(ex.get_by_text("Status:")).to_contain_text("Accepted", use_inner_text=True)

    # the insurer binds: the policy exists, and its number is on the request page
    page.reload()
    page.get_by_label("Policy number").fill("E2E-0001")
    page.get_by_role("button", name="Bind policy").click()
    expect(page.get_by_role("status").first).to_contain_text("Policy E2E-0001 bound", use_inner_text=True)
    assert "policy E2E-0001 exists" in page.content()  # read once the bound request's page is there
    shot(page, "market-request-bound")
    ex.reload()
    expect(ex.get_by_text("Status:")).to_contain_text("Bound", use_inner_text=True)
    assert "E2E-0001" in ex.content()
    ctx.close()

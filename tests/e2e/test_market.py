"""The coverage market in a browser: an insurer lists an offering, an exchange finds it and requests cover,
the insurer quotes, the exchange accepts, the insurer binds, and the policy's number is on the request page."""

from __future__ import annotations

import re

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
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Deductible").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Total capacity").input_value() == "¥3,000,000,000"
    page.get_by_label("Deductible").fill("10,000,000")
    page.get_by_role("button", name="Create offering").click()
    assert page.url.endswith("/market/offerings")
    row = page.get_by_role("row").filter(has_text=TITLE)
    assert "¥3,000,000,000" in row.inner_text() and "Listed" in row.inner_text()
    assert page.get_by_role("button", name=f"Withdraw {TITLE}").is_visible()
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
    card = ex.get_by_role("region", name=TITLE)
    assert "Eligible" in card.inner_text() and "Not eligible" not in card.inner_text()
    hot = ex.get_by_role("region", name="Hot-wallet theft cover")
    assert "Not eligible" in hot.inner_text() and "Insurer rating: rating BBB; minimum A" in hot.inner_text()
    shot(ex, "market-search")
    card.get_by_role("link", name=f"Request cover from {TITLE}").click()
    ex.get_by_label("Limit (JPY)").fill("500,000,000")
    ex.get_by_label("Term start").fill("2027-04-01")
    ex.get_by_label("Term (months)").fill("12")
    ex.get_by_label("Message to the insurer").fill("Cover for FY2027")
    ex.get_by_role("button", name="Request cover").click()
    assert ex.get_by_role("heading", level=1).inner_text().startswith("Request ")
    reference = re.search(r"Request (\w{8})", ex.get_by_role("heading", level=1).inner_text()).group(1)

    # the insurer quotes
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    page.get_by_role("link", name=f"Request {reference}").click()
    assert page.get_by_label("Limit (JPY)").input_value() == "500,000,000"  # the requested terms, ready to quote
    page.get_by_label("Premium (JPY)").fill("5,500,000")
    shot(page, "market-request-quote")
    page.get_by_role("button", name="Quote", exact=True).click()
    assert "Quote sent to Sakura Digital Exchange" in page.get_by_role("status").first.inner_text()

    # the exchange accepts the quote from its list of requests
    ex.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    assert "¥5,500,000" in ex.get_by_role("row").filter(has_text=reference).inner_text()
    ex.get_by_role("button", name=f"Accept quote for {TITLE}").click()
    assert "Accepted" in ex.get_by_text("Status:").inner_text()

    # the insurer binds: the policy exists, and its number is on the request page
    page.reload()
    page.get_by_label("Policy number").fill("E2E-0001")
    page.get_by_role("button", name="Bind policy").click()
    assert "Policy E2E-0001 bound" in page.get_by_role("status").first.inner_text()
    assert "policy E2E-0001 exists" in page.content()
    shot(page, "market-request-bound")
    ex.reload()
    assert "E2E-0001" in ex.content() and "Bound" in ex.get_by_text("Status:").inner_text()
    ctx.close()

"""The portal's shell in a browser: sign-in by label, CSRF refusal, lockout, both languages."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in


def test_sign_in_by_label_lands_on_the_dashboard_and_sign_out(page, live):
    sign_in(page, live, "sakura")
    expect(page).to_have_url(re.compile(r"/exchange/$"))
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    shot(page, "exchange-dashboard")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/exchange/")
    expect(page).to_have_url(re.compile("/login"))  # signed out: the dashboard asks to sign in again


def test_a_wrong_password_is_refused_next_to_the_field(page, live):
    page.goto("/login")
    page.get_by_label("Email").fill(live.user("tokio")["email"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    shot(page, "login-refused")


def test_repeated_failures_lock_the_email_even_for_the_right_password(page, live):
    out = live.cli("marketplace", "users", "create", "--org", "Harbour Specialty Re", "--email", "lock@e2e.test")
    link = re.search(r"https?://\S+", out).group(0)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a long enough password")
    page.get_by_label("New password again").fill("a long enough password")
    page.get_by_role("button", name="Set password").click()
    # each post's answer is back before the next page.goto, which would otherwise cancel it
    expect(page.get_by_role("status")).to_contain_text("Your password is set.", use_inner_text=True)
    for _ in range(5):
        page.goto("/login")
        page.get_by_label("Email").fill("lock@e2e.test")
        page.get_by_label("Password").fill("wrong password!")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
    page.goto("/login")
    page.get_by_label("Email").fill("lock@e2e.test")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    # the sign-in page comes back either way: the refusal says the post's answer is there, then its URL
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins", use_inner_text=True)
    expect(page).to_have_url(re.compile("/login"))
    shot(page, "login-locked")


def test_a_form_without_its_csrf_token_is_refused(page, live):
    sign_in(page, live, "sakura")
    # a form posted from elsewhere: same cookies, no token
    status = page.evaluate("""async () => {
        const r = await fetch('/logout', {method: 'POST', body: '',
                                          headers: {'Content-Type': 'application/x-www-form-urlencoded'}});
        return [r.status, await r.text()];
    }""")
    assert status[0] == 400 and "This form has expired" in status[1]
    page.goto("/exchange/")
    expect(page).to_have_url(re.compile(r"/exchange/$"))  # still signed in: nothing happened


def test_japanese_from_the_browser_and_the_switch(browser, live):
    context = browser.new_context(base_url=live.url, locale="ja-JP")
    page = context.new_page()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("button", name="サインイン")).to_be_visible()
    shot(page, "login-ja")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="日本語").click()
    expect(page.get_by_role("button", name="サインイン")).to_be_visible()
    user = live.user("sakura")  # the fields keep their English names inside the Japanese labels
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", name="ダッシュボード", level=1)).to_be_visible()
    assert "￥5,883,337,500" in page.content()  # yen without decimals, as the Japanese locale writes it
    shot(page, "exchange-dashboard-ja")
    context.close()

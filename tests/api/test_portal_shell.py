"""The portal shell over HTTP: sign-in and lockout, sessions, CSRF, one-time links, users, error pages."""

from __future__ import annotations

import re

from marketplace.auth import users
from marketplace.auth.models import User
from marketplace.extensions import db
from tests.api.conftest import PASSWORD
from tests.portal_client import HTML, PortalClient, text_of


def _user(world, key="tokio", email="person@portal.test", role="member", password=PASSWORD) -> User:
    user = users.create(world.org(key), email, "Person", role, "test", password=password)
    db.session.commit()
    return user


def test_login_page_has_email_and_password_fields(world):
    body = PortalClient(world.app).get("/login").get_data(as_text=True)
    assert re.search(r'<label for="email">Email</label>', body)
    assert re.search(r'<label for="password">Password</label>', body)
    assert 'name="csrf_token"' in body


def test_sign_in_goes_to_the_kind_dashboard_and_sets_a_safe_cookie(world):
    _user(world, "sakura", "ex@portal.test")
    c = PortalClient(world.app)
    r = c.login("EX@portal.test ", PASSWORD)  # email case and spaces do not matter
    assert r.headers["Location"] == "/exchange/"
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert c.get("/exchange/").status_code == 200
    assert c.get("/insurer/").status_code == 403  # wrong kind: a 403 page, in HTML
    assert "text/html" in c.get("/insurer/").content_type


def test_wrong_password_and_unknown_email_get_the_same_answer(world):
    _user(world)
    c = PortalClient(world.app)
    a = c.post("/login", {"email": "person@portal.test", "password": "wrong"}, page="/login")
    b = c.post("/login", {"email": "nobody@portal.test", "password": "wrong"}, page="/login")
    assert a.status_code == b.status_code == 401
    assert "The email or password is not right." in text_of(a) and "The email or password is not right." in text_of(b)
    assert 'aria-invalid="true"' in a.get_data(as_text=True)


def test_five_failures_lock_the_email_for_everyone_even_with_the_right_password(world):
    _user(world)
    for _ in range(5):
        PortalClient(world.app).post("/login", {"email": "person@portal.test", "password": "nope"}, page="/login")
    r = PortalClient(world.app).post("/login", {"email": "person@portal.test", "password": PASSWORD}, page="/login")
    assert r.status_code == 429 and "Too many failed sign-ins" in text_of(r)
    # another email is not locked
    _user(world, email="other@portal.test")
    assert PortalClient(world.app).login("other@portal.test", PASSWORD).status_code == 302


def test_a_success_clears_earlier_failures(world):
    _user(world)
    c = PortalClient(world.app)
    for _ in range(4):
        c.post("/login", {"email": "person@portal.test", "password": "nope"}, page="/login")
    c.login("person@portal.test", PASSWORD)
    for _ in range(4):
        PortalClient(world.app).post("/login", {"email": "person@portal.test", "password": "nope"}, page="/login")
    assert PortalClient(world.app).login("person@portal.test", PASSWORD).status_code == 302


def test_forms_without_csrf_token_are_refused_and_change_nothing(world):
    _user(world, role="admin")
    c = PortalClient(world.app)
    c.login("person@portal.test", PASSWORD)
    r = c.post("/users", {"email": "new@portal.test", "role": "member"}, csrf=False)
    assert r.status_code == 400 and "This form has expired" in text_of(r)
    assert users.by_email("new@portal.test") is None
    r = c.post("/users", {"email": "new@portal.test", "role": "member", "csrf_token": "forged"})
    assert r.status_code == 400 and users.by_email("new@portal.test") is None
    # the API is not cookie-authenticated, so it is not CSRF-checked
    assert world.call("get", "/api/v1/offerings", "tokio").status_code == 200


def test_next_only_redirects_within_the_site(world):
    _user(world)
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        c = PortalClient(world.app)
        r = c.post("/login", {"email": "person@portal.test", "password": PASSWORD, "next": bad}, page="/login")
        assert r.headers["Location"] == "/insurer/", bad
    c = PortalClient(world.app)
    r = c.post("/login", {"email": "person@portal.test", "password": PASSWORD, "next": "/account"}, page="/login")
    assert r.headers["Location"] == "/account"


def test_anonymous_pages_ask_to_sign_in_and_come_back(world):
    r = PortalClient(world.app).get("/insurer/")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/insurer/"


def test_invite_link_sets_the_password_once(world):
    admin = _user(world, role="admin")
    c = PortalClient(world.app)
    c.login(admin.email, PASSWORD)
    r = c.post("/users", {"email": "Invitee@Portal.test", "name": "In Vitee", "role": "member"}, page="/users")
    assert r.status_code == 200
    link = re.search(r"http://[^\s<\"]+/link/[A-Za-z0-9_-]+", r.get_data(as_text=True)).group(0)
    assert r.headers["Cache-Control"].startswith("no-store") or "no-store" in r.headers.get("Cache-Control", "")
    assert users.by_email("invitee@portal.test").password_hash == ""  # cannot sign in before accepting
    path = link.split("localhost", 1)[-1]
    n = PortalClient(world.app)
    r = n.post(path, {"password": "short", "password_again": "short"}, page=path)
    assert r.status_code == 422 and "use at least 12 characters" in text_of(r)
    r = n.post(path, {"password": "a good long password", "password_again": "a good long password"}, page=path)
    assert r.status_code == 302
    n.login("invitee@portal.test", "a good long password")
    assert n.get(path).status_code == 404  # spent


def test_password_change_signs_out_other_sessions(world):
    _user(world)
    a, b = PortalClient(world.app), PortalClient(world.app)
    a.login("person@portal.test", PASSWORD)
    b.login("person@portal.test", PASSWORD)
    r = a.post("/account", {"current_password": PASSWORD, "new_password": "another long password",
                            "new_password_again": "another long password"}, page="/account")
    assert r.status_code == 302
    assert a.get("/insurer/").status_code == 200  # this session stays
    assert b.get("/insurer/").status_code == 302  # the other one is signed out
    r = a.post("/account", {"current_password": "wrong", "new_password": "x", "new_password_again": "x"},
               page="/account")
    assert r.status_code == 422 and "this is not your current password" in text_of(r)


def test_members_cannot_manage_users_and_admins_only_their_own_org(world):
    member = _user(world)
    c = PortalClient(world.app)
    c.login(member.email, PASSWORD)
    assert c.get("/users").status_code == 403
    admin = _user(world, email="boss@portal.test", role="admin")
    c = PortalClient(world.app)
    c.login(admin.email, PASSWORD)
    assert member.email in text_of(c.get("/users"))
    harbour = world.org("harbour")
    assert c.get(f"/users?org={harbour.id}").status_code == 404  # another insurer's users
    stranger = _user(world, "harbour", "stranger@portal.test")
    r = c.post(f"/users/{stranger.id}/disable", {}, page="/users")
    assert r.status_code == 404 and db.session.get(User, stranger.id).disabled_at is None


def test_a_regulator_manages_users_of_organizations_in_its_registry(world):
    fsa = _user(world, "fsa", "officer@portal.test", "admin")  # its admins: a member manages no one's users
    c = PortalClient(world.app)
    c.login(fsa.email, PASSWORD)
    sakura = world.org("sakura")
    r = c.post(f"/users?org={sakura.id}", {"email": "cfo@sakura.test", "role": "admin"}, page=f"/users?org={sakura.id}")
    assert r.status_code == 200 and users.by_email("cfo@sakura.test").org_id == sakura.id
    rhein = world.org("rhein")  # BaFin's exchange, not in the FSA's registry
    assert c.get(f"/users?org={rhein.id}").status_code == 404


def test_disabling_a_user_ends_their_session(world):
    admin = _user(world, role="admin", email="boss@portal.test")
    member = _user(world)
    m = PortalClient(world.app)
    m.login(member.email, PASSWORD)
    c = PortalClient(world.app)
    c.login(admin.email, PASSWORD)
    assert c.post(f"/users/{member.id}/disable", {}, page="/users").status_code == 302
    assert m.get("/insurer/").status_code == 302
    r = PortalClient(world.app).post("/login", {"email": member.email, "password": PASSWORD}, page="/login")
    assert r.status_code == 401
    r = c.post(f"/users/{admin.id}/disable", {}, page="/users")  # not yourself
    assert db.session.get(User, admin.id).disabled_at is None


def test_browsers_get_error_pages_and_api_clients_problem_json(world):
    r = world.client.get("/no/such/page", headers=HTML)
    assert r.status_code == 404 and r.mimetype == "text/html" and "Page not found" in text_of(r)
    r = world.client.get("/no/such/page")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = world.client.get("/api/v1/nope", headers=HTML)
    assert r.mimetype == "application/problem+json"


def test_japanese_from_accept_language_and_the_switch(world):
    c = PortalClient(world.app)
    r = c.get("/login", headers={"Accept-Language": "ja,en;q=0.5"})
    assert 'lang="ja"' in r.get_data(as_text=True) and "サインイン" in text_of(r)
    c.get("/language/en?next=/login")
    assert "Sign in" in text_of(c.get("/login", headers={"Accept-Language": "ja"}))
    r = c.get("/language/ja?next=https://evil.example/")
    assert r.headers["Location"] == "/"


def test_money_is_formatted_per_locale(world):
    from flask_babel import force_locale

    from marketplace.portal.i18n import money

    with world.app.test_request_context("/"):
        with force_locale("en"):
            assert money(500_000_000, "JPY") == "¥500,000,000"
            assert money(123_450, "EUR") == "€1,234.50"
        with force_locale("ja"):
            assert money(500_000_000, "JPY") == "￥500,000,000"
            assert money("123450", "USD") == "$1,234.50"


def test_cli_prints_one_time_links_that_work(world):
    runner = world.app.test_cli_runner()
    out = runner.invoke(args=["marketplace", "users", "create", "--org", "Tokio Mutual Cyber",
                              "--email", "cli@portal.test", "--role", "admin"])
    assert out.exit_code == 0, out.output
    invite = re.search(r"/link/[A-Za-z0-9_-]+", out.output).group(0)
    c = PortalClient(world.app)
    assert c.post(invite, {"password": "first long password", "password_again": "first long password"},
                  page=invite).status_code == 302
    out = runner.invoke(args=["marketplace", "users", "reset-link", "CLI@portal.test"])
    assert out.exit_code == 0, out.output
    reset = re.search(r"/link/[A-Za-z0-9_-]+", out.output).group(0)
    assert c.post(reset, {"password": "second long password", "password_again": "second long password"},
                  page=reset).status_code == 302
    c.login("cli@portal.test", "second long password")
    out = runner.invoke(args=["marketplace", "users", "reset-link", "nobody@portal.test"])
    assert out.exit_code == 2 and "no user" in out.output
    assert "Traceback" not in out.output


def test_demo_users_sign_in_and_a_second_load_keeps_them(world, tmp_path):
    import json

    from marketplace.demo import credentials

    path = tmp_path / "demo-credentials.json"
    credentials.ensure(path)
    db.session.commit()
    first = json.loads(path.read_text())["users"]
    assert {u["organization"]["kind"] for u in first} == {"regulator", "insurer", "exchange"}
    assert len(first) == 9 and all(set(u) >= {"email", "password", "organization"} for u in first)
    sakura = next(u for u in first if u["organization"]["name"] == "Sakura Digital Exchange")
    PortalClient(world.app).login(sakura["email"], sakura["password"])
    credentials.ensure(path)
    db.session.commit()
    assert json.loads(path.read_text())["users"] == first  # nothing changed, nothing rewritten
    # a user who changed the password: the next load gives the file a working one again
    users.by_email(sakura["email"]).password_hash = "x"
    db.session.commit()
    credentials.ensure(path)
    db.session.commit()
    again = next(u for u in json.loads(path.read_text())["users"] if u["email"] == sakura["email"])
    PortalClient(world.app).login(again["email"], again["password"])


def test_secure_cookies_when_served_over_https(sqlite_url, tmp_path):
    from tests.conftest import make_app

    app = make_app(sqlite_url, tmp_path, FORCE_HTTPS=True)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_every_page_names_its_icon_and_favicon_ico_is_that_icon(world):
    """A browser asks for /favicon.ico when a page names no icon: both ways end at the icon, never a 404."""
    page = world.client.get("/verify", headers=HTML)
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page.get_data(as_text=True)).group(1)
    with world.client.get(icon) as served:
        assert served.status_code == 200 and served.mimetype == "image/svg+xml"
        body = served.get_data()
    r = world.client.get("/favicon.ico")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml" and r.data == body

"""A Flask test client that uses the portal as a browser does: it asks for HTML, signs in through
the login form and sends every form with the CSRF token of the page it came from."""

from __future__ import annotations

import html
import re

HTML = {"Accept": "text/html,application/xhtml+xml"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class PortalClient:
    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.last_html = ""

    def get(self, path: str, **kw):
        headers = {**HTML, **kw.pop("headers", {})}
        resp = self.client.get(path, headers=headers, **kw)
        if resp.mimetype == "text/html":
            self.last_html = resp.get_data(as_text=True)
        return resp

    def token(self, page: str | None = None) -> str:
        text = self.get(page).get_data(as_text=True) if page else self.last_html
        m = _TOKEN.search(text) or _TOKEN.search(self.get("/login").get_data(as_text=True))
        return m.group(1)

    def post(self, path: str, data: dict | None = None, page: str | None = None, csrf: bool = True, **kw):
        """POST a form; the CSRF token comes from `page` (default: the page last fetched, else /login)."""
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.token(page)
        headers = {**HTML, **kw.pop("headers", {})}
        resp = self.client.post(path, data=data, headers=headers, **kw)
        if resp.mimetype == "text/html":
            self.last_html = resp.get_data(as_text=True)
        return resp

    def login(self, email: str, password: str):
        resp = self.post("/login", {"email": email, "password": password}, page="/login")
        assert resp.status_code == 302, f"sign-in as {email} failed: {resp.status_code} {text_of(resp)[:300]}"
        return resp


def signed_in_as(world, password: str):
    """`signed_in("sakura", role)`: a PortalClient signed in as a user of that role in the world's organization
    (created on first use, kept for the test)."""
    from marketplace.auth import users
    from marketplace.extensions import db

    made = {}

    def signed_in(key: str, role: str = "admin") -> PortalClient:
        email = f"{key}.{role}@portal.test"
        if email not in made:
            if users.by_email(email) is None:
                users.create(world.org(key), email, key, role, "test", password=password)
                db.session.commit()
            client = PortalClient(world.app)
            client.login(email, password)
            made[email] = client
        return made[email]

    return signed_in


def text_of(resp) -> str:
    """The visible text of an HTML answer (tags dropped, entities decoded, whitespace collapsed)."""
    body = resp.get_data(as_text=True) if hasattr(resp, "get_data") else str(resp)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()

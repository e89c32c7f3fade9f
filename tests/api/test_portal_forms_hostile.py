"""Every form on every portal page, sent by every organization that sees it, with hostile values in each
field: never a 5xx, never a traceback. The forms are found by crawling the pages (as a browser would), so a
new form is covered without a new test."""

from __future__ import annotations

import io
from html.parser import HTMLParser

from tests.api.test_portal_pages import WHO, _fill, _page_ids, _page_rules
from tests.portal_client import text_of

HOSTILE = ["", "x" * 20_000, "\x00\x01\x02", "1e999", "-1", "９９", "<script>alert(1)</script>", "'; DROP TABLE x;--",
           "2027-02-30", "NaN", "\u202e\ufffd", "0.0000000000001", "99999999999999999999999999", " ",
           "../../etc/passwd"]
SKIP_ACTIONS = ("/logout",)


class Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action") or "", "fields": {}, "files": [], "choices": {}}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self._form["files"].append(a["name"])
            elif kind in ("checkbox", "radio"):
                self._form["choices"].setdefault(a["name"], []).append(a.get("value", "on"))
            elif kind not in ("submit", "button"):
                self._form["fields"][a["name"]] = (kind, a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self._form["fields"][a["name"]] = ("textarea", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["choices"].setdefault(a["name"], [])
        elif tag == "option" and self._select:
            self._form["choices"][self._select].append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _forms_on(client, path: str) -> list[dict]:
    resp = client.get(path)
    if resp.status_code != 200 or resp.mimetype != "text/html":
        return []
    parser = Forms()
    parser.feed(resp.get_data(as_text=True))
    for f in parser.forms:
        f["page"] = path
        f["action"] = f["action"] or path
    return parser.forms


def _send(client, form: dict, value: str, round_: int):
    data = {}
    for name, (kind, default) in form["fields"].items():
        data[name] = default if kind == "hidden" else value
    for name, options in form["choices"].items():
        data[name] = [value] if round_ % 3 == 0 else options[round_ % len(options)] if options else value
    for name in form["files"]:
        data[name] = (io.BytesIO(value.encode("utf-8")), "hostile.csv")
    return client.post(form["action"], data, page=form["page"],
                       content_type="multipart/form-data" if form["files"] else None)


def test_every_form_survives_hostile_values(world, portal, who_all=WHO):
    ids = _page_ids(world)
    pages = [r for r in _page_rules(world.app) if "GET" in r.methods and r.rule not in ("/logout",)]
    sent = 0
    for who in who_all:
        client = portal(who)
        seen: set = set()
        for r in pages:
            try:
                path = _fill(r.rule, ids) if r.arguments else r.rule
            except KeyError:
                continue
            for form in _forms_on(client, path):
                key = (form["action"].split("?")[0], tuple(sorted(form["fields"])))
                if key in seen or form["action"].startswith(SKIP_ACTIONS):
                    continue
                seen.add(key)
                for i, value in enumerate(HOSTILE):
                    resp = _send(client, form, value, i)
                    sent += 1
                    where = f"{who} POST {form['action']} (from {form['page']}) with {value[:30]!r}"
                    assert resp.status_code < 500, f"{where}: {resp.status_code} {text_of(resp)[:300]}"
                    assert "Traceback" not in resp.get_data(as_text=True), where
                    if resp.status_code in (302, 303) and "/login" in resp.headers.get("Location", ""):
                        raise AssertionError(f"{where}: signed out")
    assert sent >= 500 * len(who_all) // len(WHO), sent


QUERY_NAMES = ("page", "per_page", "period", "org", "exchange", "status", "from", "to", "issued_from", "issued_to",
               "limit", "min_capacity", "currency", "sort", "perils", "jurisdiction", "min_rating", "ruleset", "next")


def test_every_page_survives_hostile_query_strings(world, portal, who_all=WHO):
    """Every page's GET with hostile values in every query parameter a page of this portal reads: a page or a 4xx."""
    ids = _page_ids(world)
    pages = [r for r in _page_rules(world.app) if "GET" in r.methods]
    sent = 0
    for who in who_all:
        client = portal(who)
        for r in pages:
            try:
                path = _fill(r.rule, ids) if r.arguments else r.rule
            except KeyError:
                continue
            for i, value in enumerate(HOSTILE[:8] + HOSTILE[9:]):
                query = dict.fromkeys(QUERY_NAMES[i % 3::3], value)
                resp = client.client.get(path, query_string=query, headers={"Accept": "text/html"})
                sent += 1
                assert resp.status_code < 500, f"{who} GET {path} {query!r:.120}: {resp.status_code}"
    assert sent >= 1000 * len(who_all) // len(WHO), sent

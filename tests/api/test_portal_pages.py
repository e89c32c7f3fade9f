"""Every portal page, for every demo organization, in both languages: never a 5xx, accessible markup, CSRF on
every form; and every page with an object id closed to other organizations, as the API's tenancy matrix.

The pages come from the app's URL map: a new page is crawled without a new test, and a new id parameter
this table does not know makes the test fail until it is covered.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from marketplace import models
from marketplace.auth import users
from marketplace.extensions import db
from tests.api.test_tenancy_matrix import FOREIGN_CALLERS, LEGIT, OWNERS, _ids, _snapshot
from tests.leaks import compact_jws_in
from tests.portal_client import text_of

API = ("/api/", "/oauth/", "/.well-known/", "/contexts/", "/static/", "/metrics", "/healthz", "/readyz")
PUBLIC_WITH_IDS = {"/verify/<certificate_id>", "/link/<token>", "/language/<code>",
                   "/rulesets/<ruleset_id>/versions/<version>"}
SKIP_GET = {"/logout"}
# path parameters that name an object: the API matrix's owners, plus the portal's own
PAGE_OWNERS = {**OWNERS, "user_id": "sakura"}
CHOICES = {"kind": "reserve", "action": "withdraw"}  # literal choices in a URL, not ids


def _page_rules(app):
    for r in app.url_map.iter_rules():
        if not r.rule.startswith(API) and r.endpoint != "static" and not r.endpoint.endswith(".static"):
            yield r


class Markup(HTMLParser):
    """What the accessibility checks need: headings, labels, form controls, forms and their CSRF tokens."""

    def __init__(self):
        super().__init__()
        self.h1 = 0
        self.label_for: set[str] = set()
        self.controls: list[dict] = []
        self.forms: list[dict] = []
        self.tables = 0
        self.captions = 0
        self._in_label = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "h1":
            self.h1 += 1
        elif tag == "label":
            self._in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(), "csrf": False})
        elif tag in ("input", "select", "textarea"):
            kind = (a.get("type") or "text").lower()
            if tag == "input" and a.get("name") == "csrf_token" and self.forms:
                self.forms[-1]["csrf"] = True
            if tag == "input" and kind in ("hidden", "submit", "button", "image", "reset"):
                return
            self.controls.append({**a, "_tag": tag, "_wrapped": self._in_label > 0})
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1

    def handle_endtag(self, tag):
        if tag == "label":
            self._in_label -= 1


def check_markup(html: str, where: str) -> None:
    m = Markup()
    m.feed(html)
    assert m.h1 == 1, f"{where}: {m.h1} <h1> headings (want exactly one)"
    for c in m.controls:
        named = c["_wrapped"] or c.get("aria-label") or c.get("aria-labelledby") or c.get("id") in m.label_for
        assert named, f"{where}: <{c['_tag']} name={c.get('name')!r}> has no label"
    for f in m.forms:
        assert f["method"] == "get" or f["csrf"], f"{where}: a POST form without its CSRF token"
    assert m.captions >= m.tables, f"{where}: a table without a <caption>"


WHO = ["fsa", "bafin", "sfc", "sakura", "rhein", "victoria", "tokio", "harbour", "nova"]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_page_renders_for_every_organization(world, portal, lang):
    rules = [r for r in _page_rules(world.app) if not r.arguments and "GET" in r.methods and r.rule not in SKIP_GET]
    assert len(rules) >= 25
    crawled = 0
    for who in [None, *WHO]:
        client = portal(who) if who else None
        for r in rules:
            if client is None:
                from tests.portal_client import PortalClient

                client_ = PortalClient(world.app)
            else:
                client_ = client
            resp = client_.get(r.rule, headers={"Accept-Language": lang})
            where = f"{who or 'anonymous'} GET {r.rule} ({lang})"
            assert resp.status_code < 500, f"{where}: {resp.status_code} {text_of(resp)[:300]}"
            assert resp.status_code in (200, 302, 403), f"{where}: {resp.status_code}"
            if resp.status_code == 200 and resp.mimetype == "text/html":
                html = resp.get_data(as_text=True)
                assert f'<html lang="{lang}">' in html, where
                check_markup(html, where)
                crawled += 1
    assert crawled >= 60


def _page_ids(world) -> dict[str, str]:
    ids = _ids(world)
    sakura_user = users.create(world.org("sakura"), "someone@sakura.test", "Someone", "member", "test",
                               password="a long test password")
    db.session.commit()
    ids["user_id"] = sakura_user.id
    return ids


def _fill(rule: str, ids: dict) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: CHOICES.get(m.group(1)) or ids[m.group(1)], rule)


def test_every_page_with_an_id_is_closed_to_other_organizations(world, portal):
    ids = _page_ids(world)
    secrets = ["Kanto-FB-00099", "Nova draft", "HSR-JP-7781", "someone@sakura.test"]  # and any JWS (tests.leaks)
    rules = [r for r in _page_rules(world.app) if r.arguments and r.rule not in PUBLIC_WITH_IDS]
    assert len(rules) >= 20
    clients = {who: portal(who) for who in {*FOREIGN_CALLERS, "fsa", "sakura", "nova"}}
    opened = 0
    for r in rules:
        params = [p for p in re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", r.rule) if p not in CHOICES]
        if not params:
            continue  # only a literal choice (/reports/<kind>): the caller's own data
        unknown = [p for p in params if p not in PAGE_OWNERS]
        assert not unknown, f"{r.rule}: add {unknown} to the portal tenancy table"
        url = _fill(r.rule, ids)
        legit = set().union(*(LEGIT.get(p, set()) for p in params))
        for method in sorted(r.methods - {"HEAD", "OPTIONS"}):
            for caller in [c for c in FOREIGN_CALLERS if c not in legit]:
                c = clients[caller]
                before = _snapshot()
                if method == "GET":
                    resp = c.get(url)
                else:
                    resp = c.post(url, {}, page="/account")
                where = f"{caller} {method} {url}"
                assert resp.status_code in (403, 404), f"{where}: {resp.status_code} {text_of(resp)[:200]}"
                page = resp.get_data(as_text=True)
                leaked = [s for s in secrets if s in page] + compact_jws_in(page)
                assert not leaked, f"{where} leaked {leaked}"
                assert _snapshot() == before, f"{where} changed the database"
        if "GET" in r.methods and params:
            owner = PAGE_OWNERS[params[-1]]
            resp = clients[owner].get(url)
            # 403: a page for another kind (an exchange's "request cover" on an insurer's offering)
            assert resp.status_code in (200, 403), f"{owner} cannot open its own {url}: {resp.status_code}"
            opened += resp.status_code == 200
    assert opened >= 8


def test_portal_and_api_list_the_same_objects(world, portal):
    """For each organization, the ids its API clients list appear on its portal pages, and no others."""
    lists = [("/api/v1/offerings", "/market", "items"), ("/api/v1/policies", "/policies/", "items"),
             ("/api/v1/certificates", "/certificates/", "items"),
             ("/api/v1/coverage-requests", "/market/requests", "items")]
    every = {"offerings": set(db.session.scalars(select(models.Offering.id))),
             "policies": set(db.session.scalars(select(models.Policy.id)))}
    assert every["offerings"] and every["policies"]
    compared = 0
    for who in WHO:
        client = portal(who)
        for api, page, key in lists:
            listed = world.call("get", f"{api}?per_page=100", who)
            if listed.status_code != 200:
                continue
            resp = client.get(page)
            if resp.status_code != 200:
                continue
            html = resp.get_data(as_text=True)
            api_ids = {row["offering"]["id"] if "offering" in row and isinstance(row["offering"], dict) else row["id"]
                       for row in listed.json[key]}
            for i in api_ids:
                assert i in html, f"{who}: {api} lists {i} but {page} does not show it"
            table = api.rsplit("/", 1)[-1]
            for other in every.get(table, set()) - api_ids:
                assert other not in html, f"{who}: {page} shows {other}, which its API clients cannot see"
            compared += 1
    assert compared >= 12

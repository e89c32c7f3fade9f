"""A NUL in any text path parameter matches no route (web.paths.Text): 404, as for an id that names nothing, never
handed to the database, where PostgreSQL refuses NUL in text (it was a 500 on id routes). Every rule with a text
parameter, API and portal, each method, signed in as an exchange and as a regulator, on both backends. The OAuth
endpoints' form fields, which authlib reads rather than our schemas, are refused the same way."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.registry.models import Organization
from tests.bearer import bearer_headers
from tests.paths import converters, filled

NUL_VALUES = ("%00", "a%00b", "%00" * 40)


def test_a_nul_in_any_path_parameter_is_a_404_never_a_5xx(demo):
    orgs = {o.name: o for o in db.session.scalars(select(Organization))}
    callers = [bearer_headers(demo, orgs[n]) for n in ("Sakura Digital Exchange", "Financial Services Agency (Japan)")]
    client = demo.test_client()
    rules = [r for r in demo.url_map.iter_rules()
             if any(conv in ("", "string") for conv in converters(r.rule))
             and not r.rule.startswith("/api/docs/assets")]
    assert len(rules) > 40
    calls = 0
    for rule in rules:
        for value in NUL_VALUES:
            url = filled(rule.rule, text=value)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for headers in callers:
                    r = client.open(url, method=method, headers=headers, json=None if method == "GET" else {})
                    calls += 1
                    assert r.status_code == 404, f"{method} {url}: {r.status_code} {r.data[:200]!r}"
                    if rule.rule.startswith("/api/"):
                        assert r.mimetype == "application/problem+json", url
    assert calls > 300


def test_a_nul_in_the_oauth_form_fields_is_invalid_client_never_a_5xx(demo):
    """The token and revocation endpoints read their form fields through authlib, not our schemas: a client id
    with a NUL (or any character no client id has) is an unknown client, refused as a wrong secret is."""
    import base64

    client = demo.test_client()
    calls = 0
    for value in ("\x00", "a\x00b", "mpc_\x00" * 20, "é", " ", "x" * 49):
        basic = base64.b64encode(f"{value}:secret".encode()).decode()
        for path, form in (("/oauth/token", {"grant_type": "client_credentials"}),
                           ("/oauth/revoke", {"token": "t\x00k"})):
            for headers, data in (({}, {**form, "client_id": value, "client_secret": "s\x00"}),
                                  ({"Authorization": f"Basic {basic}"}, form)):
                r = client.post(path, data=data, headers=headers)
                calls += 1
                assert r.status_code in (400, 401), (path, repr(value), r.status_code, r.get_data(as_text=True))
                assert r.get_json()["error"] == "invalid_client", (path, repr(value), r.get_json())
    assert calls == 24


def test_a_nul_in_a_portal_form_or_query_is_a_400_page_naming_the_field(demo):
    """Portal views read some fields as they come (sign-in's email went to the database as typed: a 500 on
    PostgreSQL): a NUL in any form field or query value is refused before any view, with a page naming it. The
    public verification page takes any pasted text and answers with a verdict."""
    from tests.api.conftest import PASSWORD, World
    from tests.portal_client import PortalClient, signed_in_as, text_of

    browser = PortalClient(demo)
    r = browser.post("/login", {"email": "a\x00b@example.com", "password": "x"}, page="/login")
    assert r.status_code == 400 and "email" in text_of(r) and "NUL" in text_of(r), text_of(r)[:300]
    r = browser.post("/verify", {"certificate": "eyJ\x00"}, page="/verify")  # pasted text: a verdict, not an error
    assert r.status_code == 200 and "Invalid" in text_of(r), text_of(r)[:300]
    assert browser.get("/?next=%00").status_code == 400
    browser = signed_in_as(World(demo), PASSWORD)("sakura")
    r = browser.get("/exchange/?next=%00&x%00y=1")
    assert r.status_code == 400 and "next" in text_of(r) and "x\\0y" in text_of(r), text_of(r)[:300]
    assert browser.get("/exchange/").status_code == 200  # still signed in, nothing else changed

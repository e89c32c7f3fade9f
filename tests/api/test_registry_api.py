"""Registry endpoints: happy paths, every validation error, transitions, history, client credentials."""

import pytest

from marketplace.extensions import db
from marketplace.registry.models import Organization

R = "/api/v1"


def test_admit_and_walk_insurer_states(world):
    r = world.call("post", f"{R}/organizations", "fsa", json={"kind": "insurer", "name": "Kaze Re", "rating": "A+"})
    assert r.status_code == 201
    ins = r.json
    assert ins["approvals"][0]["status"] == "pending" and ins["jurisdiction"] == "JP"
    path = f"{R}/insurers/{ins['id']}"
    bad = world.call("post", f"{path}/suspend", "fsa", json={})
    assert bad.status_code == 409 and bad.json["current_state"] == "pending"
    assert world.call("post", f"{path}/approve", "fsa", json={"reason": "capital ok"}).json["approvals"][0][
        "status"] == "approved"
    assert world.call("post", f"{path}/approve", "fsa", json={}).status_code == 409
    assert world.call("post", f"{path}/suspend", "fsa", json={}).json["approvals"][0]["status"] == "suspended"
    assert world.call("post", f"{path}/reinstate", "fsa", json={}).json["approvals"][0]["status"] == "approved"
    r = world.call("post", f"{path}/rating", "fsa", json={"rating": "BBB+", "reason": "downgrade"})
    assert r.json["rating"] == "BBB+"
    hist = world.call("get", f"{R}/organizations/{ins['id']}/history", "fsa").json["items"]
    assert [(h["field"], h["new_value"]) for h in hist] == [
        ("created", "insurer"), ("status:JP", "pending"), ("rating", "A+"), ("status:JP", "approved"),
        ("status:JP", "suspended"), ("status:JP", "approved"), ("rating", "BBB+")]
    assert hist[3]["reason"] == "capital ok" and hist[3]["changed_by"].startswith("client:")


def test_register_exchange_with_custodian_and_links(world):
    cust = world.call("post", f"{R}/organizations", "fsa", json={
        "kind": "custodian", "name": "Kyoto Keys", "registration_status": "pending"}).json
    r = world.call("post", f"{R}/organizations", "fsa", json={
        "kind": "exchange", "name": "Fuji Exchange", "licence_number": "Kanto-FB-00200", "custodians": [cust["id"]]})
    assert r.status_code == 201
    ex = r.json
    assert ex["exchange"] == {"licence_number": "Kanto-FB-00200", "jurisdiction": "JP",
                              "regulator": world.org("fsa").id, "service_classes": [], "custodians": [cust["id"]]}
    dup = world.call("post", f"{R}/organizations", "fsa", json={
        "kind": "exchange", "name": "Other", "licence_number": "Kanto-FB-00200"})
    assert dup.status_code == 409 and dup.json["errors"][0]["pointer"] == "#/licence_number"
    r = world.call("delete", f"{R}/exchanges/{ex['id']}/custodians/{cust['id']}", "fsa")
    assert r.json["exchange"]["custodians"] == []
    assert world.call("delete", f"{R}/exchanges/{ex['id']}/custodians/{cust['id']}", "fsa").status_code == 404
    r = world.call("post", f"{R}/exchanges/{ex['id']}/custodians", "fsa", json={"custodian": cust["id"]})
    assert r.json["exchange"]["custodians"] == [cust["id"]]
    r = world.call("post", f"{R}/custodians/{cust['id']}/registration", "fsa", json={"status": "registered"})
    assert r.json["custodian"]["registration_status"] == "registered"


@pytest.mark.parametrize(("body", "pointers"), [
    ({}, {"#/kind", "#/name"}),
    ({"kind": "bank", "name": ""}, {"#/kind", "#/name"}),
    ({"kind": "exchange", "name": "X"}, {"#/licence_number"}),
    ({"kind": "exchange", "name": "X", "licence_number": "L", "rating": "A", "service_classes": [4]},
     {"#/rating", "#/service_classes/0"}),
    ({"kind": "custodian", "name": "X", "registration_status": "maybe"}, {"#/registration_status"}),
    ({"kind": "insurer", "name": "X", "rating": "A++", "extra": True}, {"#/rating", "#/extra"}),
    ({"kind": "exchange", "name": "X", "licence_number": "L9", "custodians": ["nope"]}, {"#/custodians/0"}),
])
def test_every_bad_field_is_named(world, body, pointers):
    before = db.session.query(Organization).count()
    r = world.call("post", f"{R}/organizations", "fsa", json=body)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert {e["pointer"] for e in r.json["errors"]} == pointers
    assert db.session.query(Organization).count() == before


def test_bad_json_and_media_types(world):
    r = world.call("post", f"{R}/organizations", "fsa", data="{nope", content_type="application/json")
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    r = world.call("post", f"{R}/organizations", "fsa", data="kind=insurer", content_type="text/plain")
    assert r.status_code == 415
    r = world.call("post", f"{R}/organizations", "fsa", json=[1, 2])
    assert r.status_code == 422


def test_listing_filters_sort_and_pagination(world):
    r = world.call("get", f"{R}/organizations?kind=exchange&sort=-name", "fsa")
    assert [o["name"] for o in r.json["items"]] == ["Sakura Digital Exchange"]
    r = world.call("get", f"{R}/organizations?per_page=2&page=2&sort=name", "fsa")
    assert r.json["page"] == 2 and len(r.json["items"]) == 2 and r.json["total"] == 7
    assert 'rel="next"' in r.headers["Link"] and 'rel="prev"' in r.headers["Link"]
    r = world.call("get", f"{R}/organizations?per_page=101&sort=size&kind=bank", "fsa")
    assert r.status_code == 422
    assert {e["parameter"] for e in r.json["errors"]} == {"per_page", "sort", "kind"}
    own = world.call("get", f"{R}/organizations", "sakura").json
    assert [o["name"] for o in own["items"]] == ["Sakura Digital Exchange"]


def test_regulator_issues_client_credentials(world):
    ex = world.org("rhein")
    r = world.call("post", f"{R}/organizations/{ex.id}/clients", "bafin",
                   json={"name": "ops", "scopes": ["reports:write"]})
    assert r.status_code == 201 and r.json["client_secret"] and r.json["scopes"] == ["reports:write"]
    tok = world.client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": r.json["client_id"],
                                                  "client_secret": r.json["client_secret"]})
    assert tok.status_code == 200 and tok.json["scope"] == "reports:write"
    bad = world.call("post", f"{R}/organizations/{ex.id}/clients", "bafin", json={"name": "x",
                                                                                  "scopes": ["registry:write"]})
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "#/scopes"


def test_only_regulators_write_the_registry(world):
    r = world.call("post", f"{R}/insurers/{world.org('nova').id}/approve", "sakura", json={})
    assert r.status_code == 403

"""Rule-sets over the API: list, get (digest checked independently), publish rules."""

import copy
import hashlib
import json
from datetime import date, timedelta

from tests.unit.helpers import JP, shipped_document

R = "/api/v1/rulesets"


def canonical_digest(doc: dict) -> str:
    """RFC 8785 for a document of strings, integers, booleans, lists and objects (no floats):
    keys sorted by UTF-16 code units (ASCII here), no whitespace, UTF-8."""
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                                 ensure_ascii=False).encode()).hexdigest()


def test_list_and_get_with_digest(world):
    items = world.call("get", R, "sakura").json["items"]
    assert [(i["id"], i["version"]) for i in items] == [(r, v) for r in ("EU-MiCA-67", "HK-SFC-VATP", "JP-FSA-2026")
                                                        for v in ("1", "2")]  # versions 1 and 2 are shipped
    assert world.call("get", f"{R}?jurisdiction=HK", "sakura").json["items"][0]["id"] == "HK-SFC-VATP"
    got = world.call("get", f"{R}/JP-FSA-2026/versions/1", "tokio").json
    assert got["document"] == shipped_document(JP)
    assert got["digest"] == canonical_digest(got["document"])
    assert world.call("get", f"{R}/JP-FSA-2026/versions/9", "tokio").status_code == 404


def _v2(**changes):
    doc = copy.deepcopy(shipped_document(JP))
    doc.update({"version": "3", "effective_from": (date.today() + timedelta(days=30)).isoformat(), **changes})
    return doc


def test_publish_new_version_then_immutable(world):
    r = world.call("post", R, "fsa", json=_v2())
    assert r.status_code == 201 and r.json["digest"] == canonical_digest(_v2())
    again = world.call("post", R, "fsa", json=_v2(title="changed"))
    assert again.status_code == 409 and again.json["errors"][0]["pointer"] == "#/version"
    assert world.call("get", f"{R}/JP-FSA-2026/versions/3", "fsa").json["document"]["title"] == _v2()["title"]


def test_publish_refusals_name_fields(world):
    r = world.call("post", R, "fsa", json=_v2(effective_from="2020-01-01"))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "#/effective_from"
    r = world.call("post", R, "bafin", json=_v2())
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "#/jurisdiction"
    doc = _v2()
    doc["params"]["volume_rates"]["value"]["spot"] = 0.1
    assert world.call("post", R, "fsa", json=doc).status_code == 422
    doc = _v2()
    doc["params"]["rounding"]["value"] = "ROUND_DOWN"
    del doc["params"]["max_insurer_share"]
    r = world.call("post", R, "fsa", json=doc)
    assert {e["pointer"] for e in r.json["errors"]} == {"#/params/rounding/value", "#/params/max_insurer_share"}
    r = world.call("post", R, "fsa", json={"id": "X"})
    assert r.status_code == 422 and "#/params" in {e["pointer"] for e in r.json["errors"]}
    assert world.call("post", R, "sakura", json=_v2()).status_code == 403


def test_each_float_is_named_by_its_pointer(world):
    """Floats were one error at "#/" (not even the root pointer); now one error per float, at its place."""
    doc = _v2(title=1.5)
    doc["params"]["volume_rates"]["value"]["spot"] = 0.1
    r = world.call("post", R, "fsa", json=doc)
    assert r.status_code == 422
    assert [e["pointer"] for e in r.json["errors"]] == ["#/title", "#/params/volume_rates/value/spot"], r.json
    assert all("never floats" in e["detail"] for e in r.json["errors"])
    assert world.call("get", f"{R}/JP-FSA-2026/versions/3", "fsa").status_code == 404

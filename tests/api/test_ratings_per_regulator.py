"""Per-regulator ratings and group membership over the API and the portal (issue 14, deliverable 5).

Demo: Tokio Mutual Cyber is approved by the JP (fsa), EU (bafin) and HK (sfc) regulators, rated A by each
(the rating asked for at admission); Sakura (JP) holds a certificate counting Tokio's cover under
JP-FSA-2026@1 (minimum A-; haircut 0.05 at A+ and A, 0.10 at A-).
"""

from __future__ import annotations

from sqlalchemy import select

from marketplace.certificates import pdf
from marketplace.certificates.models import Certificate
from marketplace.events.models import Event
from marketplace.extensions import db
from marketplace.registry import service as registry
from marketplace.registry.models import Organization, OrgHistory
from tests.portal_client import text_of

R = "/api/v1"


def _rate(world, who: str, rating, reason: str | None = None):
    body = {"rating": rating} | ({"reason": reason} if reason else {})
    r = world.call("post", f"{R}/insurers/{world.org('tokio').id}/rating", who, json=body)
    assert r.status_code == 200, r.json
    return r.json


def _sakura_certificate(world) -> Certificate:
    db.session.expire_all()
    return db.session.scalar(select(Certificate).filter_by(exchange_id=world.org("sakura").id)
                             .order_by(Certificate.created_at.desc()))


def test_each_regulator_rates_for_its_own_jurisdiction_and_sees_its_own(world):
    tokio = world.org("tokio")
    got = _rate(world, "fsa", "CCC", "capital below plan")
    assert got["rating"] == "CCC"  # the caller's (JP) rating
    assert got["ratings"] == {"JP": "CCC", "EU": "A", "HK": "A"} and got["admission_rating"] == "A"
    assert {a["jurisdiction"]: a["rating"] for a in got["approvals"]} == {"JP": "CCC", "EU": "A", "HK": "A"}
    # BaFin and the insurer itself see the same ratings per jurisdiction; `rating` is BaFin's own, and the
    # insurer's is the rating asked for at admission
    as_bafin = world.call("get", f"{R}/organizations/{tokio.id}", "bafin").json
    assert as_bafin["rating"] == "A" and as_bafin["ratings"] == got["ratings"]
    as_tokio = world.call("get", f"{R}/organizations/{tokio.id}", "tokio").json
    assert as_tokio["rating"] == "A" and as_tokio["ratings"] == got["ratings"]

    hist = world.call("get", f"{R}/organizations/{tokio.id}/history", "bafin").json["items"]
    last = hist[-1]
    assert (last["field"], last["jurisdiction"], last["old_value"], last["new_value"], last["reason"]) == (
        "rating", "JP", "A", "CCC", "capital below plan")
    assert {h["jurisdiction"] for h in hist if h["field"] == "rating"} == {"JP", "EU", "HK"}  # each one's start

    [ev] = db.session.scalars(select(Event).filter_by(kind="insurer.rating_changed")).all()
    assert ev.jurisdiction == "JP" and (ev.payload["old"], ev.payload["new"]) == ("A", "CCC")

    # HK rates independently; JP's and EU's stay
    assert _rate(world, "sfc", "AA")["ratings"] == {"JP": "CCC", "EU": "A", "HK": "AA"}
    # setting the same rating again changes nothing and records nothing
    before = db.session.query(OrgHistory).count()
    _rate(world, "sfc", "AA")
    assert db.session.query(OrgHistory).count() == before


def test_a_change_revokes_only_certificates_whose_offset_it_reduces(world):
    cert = _sakura_certificate(world)
    assert cert.status == "valid"
    _rate(world, "fsa", "A+")  # an upgrade; haircut 0.05 either way
    _rate(world, "fsa", "A")   # a one-notch downgrade, haircut 0.05 either way: the offset is not reduced
    assert _sakura_certificate(world).status == "valid"
    _rate(world, "bafin", "D")  # the EU regulator: no Sakura certificate is in its jurisdiction
    assert _sakura_certificate(world).status == "valid"
    _rate(world, "fsa", "A-", "outlook negative")  # haircut 0.05 -> 0.10: reduced
    c = _sakura_certificate(world)
    assert c.status == "revoked"
    assert c.revoked_reason == "insurer Tokio Mutual Cyber downgraded from A to A- by the JP regulator"
    # the certificate's PDF shows the JP regulator's rating when it was issued (A), not today's
    assert pdf._rating_at(world.org("tokio").id, c.created_at, "JP") == "A"
    assert registry.rating_in(world.org("tokio").id, "JP") == "A-"


def test_offering_search_uses_the_searcher_s_regulator_s_rating(world):
    tokio = world.org("tokio").id
    _rate(world, "fsa", "CCC")

    def hits(who, **q):
        r = world.call("get", f"{R}/offerings", who, query_string={"per_page": 100, **q})
        assert r.status_code == 200, r.json
        return [h for h in r.json["items"] if h["offering"]["insurer"] == tokio]

    jp, hk = hits("sakura"), hits("victoria")
    assert jp and {h["insurer_rating"] for h in jp} == {"CCC"}
    assert all("insurer_rating" in h["eligibility"]["failing_checks"] for h in jp)  # below JP's minimum A-
    assert hk and {h["insurer_rating"] for h in hk} == {"A"}
    assert hits("sakura", min_rating="A") == [] and len(hits("victoria", min_rating="A")) == len(hk)


def test_group_membership_is_recorded_when_admitting_and_changed_later(world):
    r = world.call("post", f"{R}/organizations", "fsa",
                   json={"kind": "insurer", "name": "Kaze Re", "rating": "A+", "group_name": "Sakura Holdings"})
    assert r.status_code == 201 and r.json["group_name"] == "Sakura Holdings"
    assert r.json["ratings"] == {"JP": "A+"} and r.json["rating"] == "A+"
    ex = world.call("post", f"{R}/organizations", "fsa", json={
        "kind": "exchange", "name": "Fuji Exchange", "licence_number": "Kanto-FB-00300", "group_name": "Fuji Group"})
    assert ex.status_code == 201 and ex.json["group_name"] == "Fuji Group"

    sakura = world.org("sakura").id
    path = f"{R}/organizations/{sakura}/group"
    r = world.call("post", path, "fsa", json={"group_name": "  Sakura Holdings ", "reason": "annual filing"})
    assert r.status_code == 200 and r.json["group_name"] == "Sakura Holdings"
    hist = world.call("get", f"{R}/organizations/{sakura}/history", "fsa").json["items"]
    assert (hist[-1]["field"], hist[-1]["old_value"], hist[-1]["new_value"], hist[-1]["reason"]) == (
        "group", None, "Sakura Holdings", "annual filing")
    assert world.call("post", path, "fsa", json={"group_name": None}).json["group_name"] is None
    assert world.call("post", path, "fsa", json={"group_name": ""}).json["group_name"] is None

    bad = world.call("post", path, "fsa", json={"group_name": "x" * 201, "extra": 1})
    assert bad.status_code == 422 and {e["pointer"] for e in bad.json["errors"]} == {"#/group_name", "#/extra"}
    assert world.call("post", path, "fsa", json={}).status_code == 422
    fsa = world.org("fsa").id
    r = world.call("post", f"{R}/organizations/{fsa}/group", "fsa", json={"group_name": "x"})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "#/group_name"
    assert world.call("post", path, "bafin", json={"group_name": "x"}).status_code == 404
    assert world.call("post", path, "sakura", json={"group_name": "x"}).status_code == 403
    assert db.session.get(Organization, sakura).group_name is None


def test_portal_rating_and_group_forms(portal, world):
    tokio, sakura = world.org("tokio"), world.org("sakura")
    bafin = portal("bafin")
    page = f"/registry/organizations/{tokio.id}"
    text = text_of(bafin.get(page))
    assert "Your rating (EU) A" in text and "Standing and rating with each regulator" in text
    resp = bafin.post(f"/registry/insurers/{tokio.id}/rating", {"rating": "BB", "reason": "EU review"}, page=page)
    assert resp.status_code == 302
    assert (registry.rating_in(tokio.id, "EU"), registry.rating_in(tokio.id, "JP")) == ("BB", "A")
    text = text_of(bafin.get(page))
    assert "Your rating of Tokio Mutual Cyber in EU is now BB" in text and "Rating in EU" in text

    fsa = portal("fsa")
    page = f"/registry/organizations/{sakura.id}"
    assert "Financial group None recorded" in text_of(fsa.get(page))
    resp = fsa.post(f"/registry/organizations/{sakura.id}/group", {"group_name": "Sakura Holdings"}, page=page)
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, sakura.id).group_name == "Sakura Holdings"
    assert "Sakura Digital Exchange is recorded as a member of Sakura Holdings" in text_of(fsa.get(page))
    resp = fsa.post(f"/registry/organizations/{sakura.id}/group", {"group_name": "x" * 201}, page=page)
    assert resp.status_code == 422
    resp = fsa.post(f"/registry/organizations/{sakura.id}/group", {"group_name": ""}, page=page)
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, sakura.id).group_name is None
    resp = fsa.post("/registry/insurers/new", {"name": "Kaze Re", "group_name": "Kaze Group"},
                    page="/registry/insurers/new")
    assert resp.status_code == 302
    assert db.session.scalar(select(Organization.group_name).filter_by(name="Kaze Re")) == "Kaze Group"

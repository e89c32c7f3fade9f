"""What the fuzz tier (tests/fuzz) found, pinned as plain HTTP tests."""

R = "/api/v1"
INT64_MAX = 2**63 - 1


def test_a_page_far_past_the_end_is_empty_not_a_5xx(world):
    """page * per_page beyond 64 bits used to overflow the database driver's OFFSET."""
    for path in ("organizations", "obligations", "policies", "certificates", "coverage-requests",
                 "reports/volumes", "reports/custody", "reports/incidents"):
        r = world.call("get", f"{R}/{path}?page={INT64_MAX}&per_page=100", "fsa")
        assert r.status_code == 200, (path, r.status_code, r.json)
        assert r.json["items"] == [] and r.json["page"] == INT64_MAX and r.json["total"] >= 0
        assert 'rel="next"' not in r.headers["Link"]


def test_an_empty_peril_filter_is_refused(world):
    """`perils=` is no list of perils: 422 naming the parameter (it used to mean "any")."""
    r = world.call("get", f"{R}/offerings?perils=", "sakura")
    assert r.status_code == 422 and r.json["errors"][0]["parameter"] == "perils"
    assert world.call("get", f"{R}/offerings?perils=theft_hack", "sakura").status_code == 200

"""Who may manage an organization's users and API clients in the portal, and what signing out ends."""

from sqlalchemy import func, select

from marketplace.auth.models import User
from marketplace.extensions import db
from tests.portal_client import PortalClient

from .conftest import PASSWORD


def _count(model, **where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_a_regulators_member_manages_no_other_organizations_users_or_clients(world, portal):
    from marketplace.auth.models import OAuthClient

    sakura = world.org("sakura").id
    admin = portal("sakura")  # an admin of the exchange, whose account the member must not reach
    target = db.session.scalar(select(User.id).filter_by(email="sakura.admin@portal.test"))
    member = portal("fsa", "member")
    users_before, clients_before = _count(User, org_id=sakura), _count(OAuthClient, org_id=sakura)
    assert member.get(f"/users?org={sakura}").status_code == 404
    assert member.post(f"/users?org={sakura}", {"email": "evil@x.example", "name": "e", "role": "admin"},
                       page="/exchange/").status_code == 404
    assert member.post(f"/auth/clients?org={sakura}", {"name": "evil", "scopes": "reports:write"},
                       page="/exchange/").status_code == 404
    assert member.post(f"/users/{target}/reset", page="/exchange/").status_code == 404
    assert (_count(User, org_id=sakura), _count(OAuthClient, org_id=sakura)) == (users_before, clients_before)
    regulator_admin = portal("fsa")  # the regulator's admins still manage the organizations they register
    assert regulator_admin.get(f"/users?org={sakura}").status_code == 200
    assert admin.get("/users").status_code == 200


def test_signing_out_ends_the_session_everywhere(world, portal):
    signed = portal("sakura")
    assert signed.get("/exchange/").status_code == 200
    copied = signed.client.get_cookie("session").value
    assert signed.post("/logout", page="/exchange/").status_code == 302
    replay = PortalClient(world.app)
    replay.client.set_cookie("session", copied)
    r = replay.get("/exchange/")
    assert r.status_code == 302 and "/login" in r.headers["Location"], r.status_code
    again = PortalClient(world.app)
    again.login("sakura.admin@portal.test", PASSWORD)  # signing in again works
    assert again.get("/exchange/").status_code == 200

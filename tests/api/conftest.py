"""API fixtures: the demo world on SQLite, tokens for any demo organization, OpenAPI response checks."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from flask import request

from marketplace.auth import service as auth
from marketplace.demo.service import load
from marketplace.extensions import db
from marketplace.registry.models import Organization
from marketplace.tlog import sequencer
from tests.openapi_check import ResponseChecker

ORGS = {
    "fsa": ("regulator", "Financial Services Agency (Japan)"),
    "bafin": ("regulator", "BaFin (MiCA competent authority)"),
    "sfc": ("regulator", "Securities and Futures Commission (Hong Kong)"),
    "sakura": ("exchange", "Sakura Digital Exchange"),
    "rhein": ("exchange", "Rhein Crypto Markets"),
    "victoria": ("exchange", "Victoria Harbour VATP"),
    "tokio": ("insurer", "Tokio Mutual Cyber"),
    "harbour": ("insurer", "Harbour Specialty Re"),
    "nova": ("insurer", "Nova Digital Assurance"),
}


class World:
    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self._tokens: dict = {}

    def org(self, key: str) -> Organization:
        kind, name = ORGS[key]
        return db.session.query(Organization).filter_by(kind=kind, name=name).one()

    def credentials(self, key: str, scopes: list[str] | None = None) -> tuple[str, str]:
        client, secret = auth.create_client(self.org(key), "test", scopes, "test")
        db.session.commit()
        return client.client_id, secret

    def token(self, key: str, scopes: list[str] | None = None) -> str:
        cache = (key, tuple(scopes or ()))
        if cache not in self._tokens:
            cid, secret = self.credentials(key, scopes)
            basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
            r = self.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {basic}"})
            assert r.status_code == 200, r.json
            self._tokens[cache] = r.json["access_token"]
        return self._tokens[cache]

    def as_(self, key: str, scopes: list[str] | None = None) -> dict:
        return {"Authorization": f"Bearer {self.token(key, scopes)}"}

    def call(self, method: str, path: str, who: str | None = None, headers: dict | None = None, **kw):
        h = dict(self.as_(who) if who else {})
        h.update(headers or {})
        return getattr(self.client, method)(path, headers=h, **kw)


@pytest.fixture(scope="session")
def openapi_doc(sqlite_url, tmp_path_factory):
    from tests.conftest import make_app

    app = make_app(sqlite_url, tmp_path_factory.mktemp("spec"))
    with app.app_context():
        return app.test_client().get("/api/openapi.json").json


@pytest.fixture(scope="session")
def world_template(tmp_path_factory) -> Path:
    """The demo world, loaded once per run into a SQLite file of its own, next to the instance directory
    that holds its key-encryption key. Each test that asks for `world` gets a copy of both: the same
    world, fresh, for the price of a file copy instead of a demo load (hundreds of tests use it)."""
    from tests.conftest import make_app, migrate_to_head

    where = tmp_path_factory.mktemp("world-template")
    url = f"sqlite:///{where / 'world.db'}"
    migrate_to_head(url, where / "migrate")
    app = make_app(url, where / "instance")
    with app.app_context():
        load()
        db.session.commit()
        sequencer.integrate()  # what the demo command's nudge does after its commit
        db.session.remove()
        db.engine.dispose()
    return where


@pytest.fixture
def world(world_template, tmp_path, openapi_doc):
    from tests.conftest import make_app

    shutil.copyfile(world_template / "world.db", tmp_path / "world.db")
    shutil.copytree(world_template / "instance", tmp_path / "instance")
    app = make_app(f"sqlite:///{tmp_path / 'world.db'}", tmp_path / "instance")
    checker = ResponseChecker(openapi_doc)

    @app.after_request
    def _check(resp):
        if request.url_rule is not None:
            checker.check(request.url_rule.rule, request.method, resp.status_code, resp.mimetype,
                          resp.get_json(silent=True))
        return resp

    with app.app_context():
        try:
            yield World(app)
        finally:
            db.session.remove()
            db.engine.dispose()
    assert not checker.failures, "responses do not match the OpenAPI document:\n" + "\n".join(checker.failures)


PASSWORD = "correct horse battery staple"


@pytest.fixture
def portal(world):
    """`portal("sakura")`: a PortalClient signed in as an admin user of that demo organization."""
    from tests.portal_client import signed_in_as

    return signed_in_as(world, PASSWORD)

"""The portal's hostile-input crawls (tests/api/test_portal_forms_hostile.py: every form of every page, every
query parameter, as every demo organization) on PostgreSQL too. The API tier runs them on SQLite, which stores a
NUL or an over-long text where PostgreSQL refuses it: sign-in's email with a NUL was a 500 only here. What
PostgreSQL refuses depends on the fields, not on who sends them, so one organization of each kind crawls here
(every page of its kind) and SQLite's run keeps all nine."""

from __future__ import annotations

import pytest

from marketplace.extensions import db
from tests.api import test_portal_forms_hostile as hostile
from tests.api.conftest import PASSWORD, World
from tests.portal_client import signed_in_as

ONE_OF_EACH_KIND = ("fsa", "sakura", "tokio")  # a regulator, an exchange, an insurer


@pytest.fixture
def pg_world(demo):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the API tier runs these on SQLite")
    return World(demo)


def test_every_form_survives_hostile_values_on_postgresql(pg_world):
    hostile.test_every_form_survives_hostile_values(pg_world, signed_in_as(pg_world, PASSWORD), ONE_OF_EACH_KIND)


def test_every_page_survives_hostile_query_strings_on_postgresql(pg_world):
    hostile.test_every_page_survives_hostile_query_strings(pg_world, signed_in_as(pg_world, PASSWORD),
                                                           ONE_OF_EACH_KIND)

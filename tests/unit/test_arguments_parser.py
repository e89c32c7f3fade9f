"""web.blueprint: one schema object per arguments schema class, shared by every request and thread. Loads on
the shared object from many threads at once each get their own answer or their own errors."""

from __future__ import annotations

import threading

import marshmallow as ma
import pytest

from marketplace.market.schemas import RequestCreate, SearchQuery
from marketplace.web.blueprint import ArgumentsParser


def test_a_schema_class_is_built_once_and_an_instance_or_a_dict_is_used_as_given():
    parser = ArgumentsParser()
    first = parser._get_schema(SearchQuery, None)
    assert isinstance(first, SearchQuery) and parser._get_schema(SearchQuery, None) is first
    assert ArgumentsParser()._get_schema(SearchQuery, None) is first  # one per class, not per parser
    mine = SearchQuery()
    assert parser._get_schema(mine, None) is mine
    built = parser._get_schema({"q": ma.fields.String()}, None)
    assert isinstance(built, ma.Schema) and built is not parser._get_schema({"q": ma.fields.String()}, None)


def test_the_shared_schema_answers_each_thread_with_its_own_input():
    schema = ArgumentsParser()._get_schema(SearchQuery, None)
    wrong: list[str] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        for i in range(300):
            if (n + i) % 3:
                got = schema.load({"page": n * 1000 + i, "perils": "theft_hack", "sort": "-rate"})
                if got["page"] != n * 1000 + i or got["perils"] != ["theft_hack"] or got["sort"] != "-rate":
                    wrong.append(f"{n}/{i}: {got}")
            else:
                try:
                    schema.load({"page": 0, f"bad{n}": "x"})
                    wrong.append(f"{n}/{i}: no error")
                except ma.ValidationError as e:
                    if set(e.messages) != {"page", f"bad{n}"}:
                        wrong.append(f"{n}/{i}: {e.messages}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_nested_schemas_keep_no_state_between_loads():
    schema = ArgumentsParser()._get_schema(RequestCreate, None)
    with pytest.raises(ma.ValidationError) as bad:
        schema.load({"offering": "o", "limit": {"amount": "-1", "currency": "JPY"}, "term_start": "2027-01-01",
                     "term_months": 12})
    assert "limit" in bad.value.messages
    ok = schema.load({"offering": "o", "limit": {"amount": "5", "currency": "JPY"}, "term_start": "2027-01-01",
                      "term_months": 12})
    assert ok["limit"] is not None and ok["term_months"] == 12


def test_every_api_blueprint_builds_its_argument_schemas_once(tmp_path):
    """Each flask-smorest blueprint the app registers is web.blueprint.Blueprint (a new feature's routes.py that
    imported flask_smorest's own would build a schema object per request again)."""
    import flask_smorest

    from marketplace.web.blueprint import Blueprint
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    api = [bp for bp in app.blueprints.values() if isinstance(bp, flask_smorest.Blueprint)]
    assert len(api) >= 13 and [bp.name for bp in api if not isinstance(bp, Blueprint)] == []

"""Shared fixtures: an app on a migrated database, on SQLite always and on PostgreSQL when configured.

PostgreSQL: TEST_DATABASE_URL names a database this run may own (`.ci/run` creates a fresh one).
Each test starts from empty tables (the schema is migrated once per backend per run).
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from marketplace import create_app
from marketplace.config import normalise_db_url

BACKENDS = ["sqlite", "postgres"]
_WORKER_DB = pytest.StashKey[tuple]()  # (the run's database URL, this worker's database name)
_SECTIONS = pytest.StashKey[list]()  # (title, lines) to print at the end of the run (summary_section)


def _worker_number() -> int | None:
    """Under pytest-xdist (`-n 2`, as `make test` runs), which worker this process is: 0, 1, ..."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") else None


def pytest_configure(config):
    """Each xdist worker gets a PostgreSQL database and a Redis database of its own, derived from
    TEST_DATABASE_URL and TEST_REDIS_URL: tests and the processes they start (which inherit the environment)
    never share state with the other worker's. Worker N uses the database `<name>_wN` and Redis db `<db> - N`."""
    n = _worker_number()
    if n is None:
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        from sqlalchemy.engine import make_url

        base = make_url(normalise_db_url(url))
        mine = base.set(database=f"{base.database}_w{n}")
        _on_server(base, f'DROP DATABASE IF EXISTS "{mine.database}" WITH (FORCE)',
                   f'CREATE DATABASE "{mine.database}"')
        os.environ["TEST_DATABASE_URL"] = mine.render_as_string(hide_password=False)
        config.stash[_WORKER_DB] = (base, mine.database)
    redis = os.environ.get("TEST_REDIS_URL")
    if redis:
        head, _, db = redis.rstrip("/").rpartition("/")
        if not db.isdigit() or int(db) < n:
            raise pytest.UsageError(f"TEST_REDIS_URL must end in a db number of at least {n} under xdist: {redis}")
        os.environ["TEST_REDIS_URL"] = f"{head}/{int(db) - n}"


def summary_section(config, title: str, lines: list[str]) -> None:
    """A section for the end of the run's output (the fuzz tier's figures): printed by pytest_terminal_summary
    below; an xdist worker hands it to the controller, which prints it."""
    if hasattr(config, "workeroutput"):
        config.workeroutput.setdefault("summary_sections", []).append((title, lines))
    else:
        config.stash.setdefault(_SECTIONS, []).append((title, lines))


@pytest.hookimpl(optionalhook=True)  # xdist, in the controller: the summary sections a worker handed over
def pytest_testnodedown(node, error):
    node.config.stash.setdefault(_SECTIONS, []).extend(node.workeroutput.get("summary_sections", []))


def pytest_terminal_summary(terminalreporter):
    for title, lines in terminalreporter.config.stash.get(_SECTIONS, []):
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)


def pytest_unconfigure(config):
    if _WORKER_DB not in config.stash:
        return
    base, name = config.stash[_WORKER_DB]
    _on_server(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _on_server(url, *statements: str) -> None:
    """Statements that cannot run in a transaction (CREATE and DROP DATABASE), through `url`'s server."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()



def backend_url(name: str, tmp_path_factory) -> str:
    if name == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "test.db")
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL not configured (TEST_DATABASE_URL unset); .ci/run always sets it")
    return normalise_db_url(url)


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(url: str, tmp_path, **extra):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "INSTANCE_PATH": str(tmp_path),
                       "SECRET_KEY": "test-secret", "ARGON2_FAST": True, **extra})


def migrate_to_head(url: str, tmp_path) -> None:
    from flask_migrate import upgrade

    if url.startswith("postgresql"):
        reset_postgres(url)
    app = make_app(url, tmp_path)
    with app.app_context():
        upgrade()
        from marketplace.extensions import db
        db.engine.dispose()


def wipe(app) -> None:
    from marketplace.extensions import db

    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # past the append-only triggers
        for table in reversed(db.metadata.sorted_tables):
            if table.name == "tlog_state":
                conn.execute(table.update().values(size=0))
            elif table.name == "market_state":  # kept, and moved on: counts cached by version are gone
                conn.execute(table.update().values(version=table.c.version + 1))
            else:
                conn.execute(table.delete())
    db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    url = backend_url(request.param, tmp_path_factory)
    migrate_to_head(url, tmp_path_factory.mktemp("migrate"))
    return url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    url = backend_url("sqlite", tmp_path_factory)
    migrate_to_head(url, tmp_path_factory.mktemp("migrate"))
    return url


def _app_fixture(url, tmp_path):
    app = make_app(url, tmp_path)
    with app.app_context():
        try:
            yield app
        finally:
            wipe(app)


@pytest.fixture
def app(database_url, tmp_path):
    """An app on each backend (integration tests)."""
    yield from _app_fixture(database_url, tmp_path)


@pytest.fixture
def sqlite_app(sqlite_url, tmp_path):
    """An app on SQLite only (API tests: fast; the backends are covered by integration tests)."""
    yield from _app_fixture(sqlite_url, tmp_path)


@pytest.fixture
def demo(app):
    from marketplace.demo.service import load
    from marketplace.extensions import db
    from marketplace.tlog import sequencer

    load()
    db.session.commit()
    sequencer.integrate()  # what the demo command's nudge does after its commit
    return app

"""Pooled connections are checked only after sitting idle (db/liveness.py): one just returned is used as
is, one idle past the window is pinged, and one whose server session died while idle is replaced before
any request sees it."""

import time

import pytest
from sqlalchemy import create_engine, text

from marketplace.db import liveness
from marketplace.extensions import db


def _backend_pid() -> int:
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))
    db.session.remove()  # back to the pool
    return pid


def test_a_connection_killed_while_idle_is_replaced_before_the_next_request(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a server session to terminate exists on PostgreSQL only")
    db.engine.dispose()
    first = _backend_pid()
    killer = create_engine(database_url)
    with killer.begin() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}) is True
    killer.dispose()
    time.sleep(liveness.IDLE_PING_AFTER + 0.2)
    client = app.test_client()
    r = client.get("/readyz")  # through a real request: the pool hands out a live connection
    assert r.status_code == 200 and r.get_json()["database"] == "reachable", r.get_data(as_text=True)
    second = _backend_pid()
    assert second != first


def test_only_an_idle_connection_is_pinged(app, monkeypatch):
    pings = []
    real = db.engine.dialect.do_ping

    def counted(dbapi_conn):
        pings.append(1)
        return real(dbapi_conn)

    monkeypatch.setattr(db.engine.dialect, "do_ping", counted)
    db.engine.dispose()
    for _ in range(5):  # opened, then returned and taken again at once: no ping
        db.session.execute(text("SELECT 1"))
        db.session.remove()
    assert pings == []
    time.sleep(liveness.IDLE_PING_AFTER + 0.2)
    db.session.execute(text("SELECT 1"))
    db.session.remove()
    assert pings == [1]
    db.session.execute(text("SELECT 1"))
    db.session.remove()
    assert pings == [1]

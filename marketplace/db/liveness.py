"""Check a pooled connection before use only when it has sat idle: a connection returned moments ago is
alive, and pinging it anyway (SQLAlchemy's pool_pre_ping) costs every request one round trip to the
database. HikariCP skips its check the same way (aliveBypassWindowMs, 500 ms by default).

A connection idle longer than IDLE_PING_AFTER is pinged at checkout; if the ping fails, the pool is told
the connection is gone (DisconnectionError) and opens a new one, so a database restarted while the
service was quiet costs no request. A restart within the window costs at most the request that finds the
broken connection: SQLAlchemy then invalidates every older connection in the pool.
"""

from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IDLE_PING_AFTER = 1.0  # seconds
_SINCE = "marketplace_idle_since"


def install(engine: Engine, idle_after: float = IDLE_PING_AFTER) -> None:
    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn, record):
        if record is not None:
            record.info[_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn, record, _proxy):
        since = record.info.get(_SINCE)
        if since is None or time.monotonic() - since < idle_after:  # just opened, or just used
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as e:  # any failure of the driver means this connection cannot be trusted
            raise DisconnectionError("the pooled connection did not answer its ping") from e

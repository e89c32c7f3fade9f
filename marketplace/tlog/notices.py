"""Batch notices: how a waiting issuance learns that its entry is in, without polling (PostgreSQL only).

The sequencer NOTIFYs `tlog_batch` with "<old size> <new size>" in its batch's transaction, so the notice
is delivered when the batch commits, to every process. One listener thread per process and database holds a
LISTEN connection; on a notice it reads that batch's certificate entries once, on a second connection, and
wakes the waiters whose entries they are. A waiter whose attempt to sequence failed (another process holds
the lock) sleeps until its entry is resolved or the next batch ends, instead of polling the database.

Notices are an accelerator, never the truth: a waiter still looks in the table itself after a silent spell
(`QUIET`), so a listener that lost its connection (it restarts on the next wait) delays, never loses.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg

log = logging.getLogger("marketplace.tlog")

CHANNEL = "tlog_batch"
QUIET = 0.25       # with no notice for this long, a waiter looks in the table itself
RESTART_AFTER = 1.0  # a listener that failed is started again at most this often
# the batch's rows by index range alone (the primary key): with "certificate_id IS NOT NULL" in the statement,
# the plan PostgreSQL settles on once psycopg prepares it could walk the certificate_id index over the
# whole log instead (4 ms at 1e4 entries, growing with the log); entries without a certificate are skipped here
_ENTRIES = "SELECT certificate_id, kind, idx FROM tlog_entries WHERE idx >= %s AND idx < %s"

Key = tuple[str, str]  # (certificate id, kind)


class Board:
    """This process's waiters for one database, and the listener that resolves them."""

    def __init__(self, conninfo: str, listen: bool):
        self.conninfo, self.listen = conninfo, listen
        self.cond = threading.Condition()
        self.waiting: dict[Key, int | None] = {}  # registered key -> its index once a notice names it
        self.generation = 0  # moves on every batch notice, every batch run here, and when the listener stops
        self.listening = False
        self._thread: threading.Thread | None = None
        self._failed_at = 0.0

    # --- waiters -----------------------------------------------------------------------------------------

    def register(self, key: Key) -> None:
        self.ensure_listening()
        with self.cond:
            self.waiting.setdefault(key, None)

    def unregister(self, key: Key) -> None:
        with self.cond:
            self.waiting.pop(key, None)

    def resolved(self, key: Key) -> int | None:
        with self.cond:
            return self.waiting.get(key)

    def wait(self, key: Key, since: int, timeout: float) -> bool:
        """Sleep until `key` is resolved or something moved past generation `since`; False on timeout."""
        with self.cond:
            return self.cond.wait_for(lambda: self.waiting.get(key) is not None or self.generation != since,
                                      timeout)

    def resolve(self, entries: list[tuple[str | None, str, int]]) -> None:
        """Entries (certificate id, kind, index) a batch integrated: wake whoever waits for one."""
        with self.cond:
            for cid, kind, idx in entries:
                if (cid, kind) in self.waiting:
                    self.waiting[(cid, kind)] = idx
            self.generation += 1
            self.cond.notify_all()

    def moved(self) -> None:
        """A batch ended in this process, or the listener stopped: let the waiters look again."""
        with self.cond:
            self.generation += 1
            self.cond.notify_all()

    # --- the listener ------------------------------------------------------------------------------------

    def ensure_listening(self) -> None:
        if not self.listen:  # SQLite: one process, no notices; waiters look after each attempt
            return
        with self.cond:
            if self._thread is not None and self._thread.is_alive():
                return
            if time.monotonic() - self._failed_at < RESTART_AFTER:
                return
            ready = threading.Event()
            self._thread = threading.Thread(target=self._listen, args=(ready,), name="tlog-notices", daemon=True)
            self._thread.start()
        ready.wait(2.0)  # LISTEN is in place before the caller's first look, so no notice after it is missed

    def _listen(self, ready: threading.Event) -> None:
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as listener, \
                    psycopg.connect(self.conninfo, autocommit=True) as reader:
                listener.execute(f"LISTEN {CHANNEL}")
                self.listening = True
                ready.set()
                for notice in listener.notifies():
                    old, new = (int(part) for part in notice.payload.split())
                    with self.cond:
                        anyone = bool(self.waiting)
                    rows = reader.execute(_ENTRIES, (old, new)).fetchall() if anyone else []
                    self.resolve([row for row in rows if row[0] is not None])
        except Exception as e:  # the database went away or refused: waiters fall back to looking themselves
            log.warning("the log's batch listener stopped (%s); waiters poll until it restarts", type(e).__name__)
        finally:
            self.listening = False
            self._failed_at = time.monotonic()
            self.moved()  # waiters look for themselves now; and before ready: whoever waits on it sees it settled
            ready.set()


_boards: dict[str, Board] = {}
_boards_lock = threading.Lock()


def board(conninfo: str, listen: bool) -> Board:
    with _boards_lock:
        found = _boards.get(conninfo)
        if found is None:
            found = _boards[conninfo] = Board(conninfo, listen)
        return found

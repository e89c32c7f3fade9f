"""One unit of work for every entry point: API route, portal view, CLI command, worker job.

    with unit_of_work() as uow:
        policies.cancel(...)              # services add to the session and record events
    # committed here; then the queue is nudged

Commit on success, roll back on any error. Work registered with `after_commit` runs only once the
change is durable, and its failure is logged, never raised: the outbox relay catches up on its own
schedule, so a lost nudge delays work but loses none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import g, has_app_context

from .extensions import db

log = logging.getLogger("marketplace.uow")


class UnitOfWork:
    def __init__(self) -> None:
        self._after: list[tuple[Callable, tuple, dict]] = []

    def after_commit(self, fn: Callable, *args, **kwargs) -> None:
        """Run fn(*args, **kwargs) once this unit commits; the same call registered twice runs once (two
        events of one commit nudge the relay once)."""
        if not any(f == fn and a == args and k == kwargs for f, a, k in self._after):
            self._after.append((fn, args, kwargs))

    def commit(self) -> None:
        db.session.commit()

    def rollback(self) -> None:
        db.session.rollback()
        self._after.clear()

    def reset(self) -> None:
        """Drop the work done so far but stay open (an API error answer still stores its idempotent
        replay in this unit)."""
        self.rollback()

    def run_after_commit(self) -> None:
        hooks, self._after = self._after, []
        for fn, args, kwargs in hooks:
            try:
                fn(*args, **kwargs)
            except Exception:  # the change is durable: a failed nudge is the relay's to recover
                log.warning("after-commit step %s failed; the scheduled relay will catch up",
                            getattr(fn, "__qualname__", fn), exc_info=True)


def current() -> UnitOfWork | None:
    """The unit of work this app context is inside, if any (services use it to register nudges)."""
    return g.get("uow") if has_app_context() else None


def after_commit(fn: Callable, *args, **kwargs) -> None:
    """Run fn after the surrounding unit of work commits. With none (a bare script, a test's session) there
    is no commit to wait for, and running it now would act on uncommitted work: skip it, the schedule
    catches up (only nudges are registered here)."""
    uow = current()
    if uow is not None:
        uow.after_commit(fn, *args, **kwargs)


def outside_a_transaction() -> None:
    """On PostgreSQL, run this unit's statements in autocommit: no BEGIN and no COMMIT, two round trips of the
    three a one-statement read costs (verification: about a sixth of its time in process). Each statement then
    sees a snapshot of its own, so what must agree is read in one statement. SQLite keeps its transaction."""
    session = db.session()
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})  # reset when pooled again


@contextmanager
def unit_of_work(transaction: bool = True) -> Iterator[UnitOfWork]:
    """`transaction=False`, only for work that changes nothing of its own: what it reads that must agree is
    one statement, and what it may write is a refresh that is right on its own, whatever happens next (a
    status list re-signed as of now, under its lock_version), so a failure after it has nothing to undo."""
    outer = g.get("uow")
    uow = UnitOfWork()
    g.uow = uow
    if not transaction:
        outside_a_transaction()
    try:
        yield uow
        uow.commit()
    except BaseException:
        uow.rollback()
        raise
    finally:
        g.uow = outer
    uow.run_after_commit()

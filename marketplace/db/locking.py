"""Row locks for check-then-write sequences (capacity, policy limits, status lists)."""

from __future__ import annotations

from sqlalchemy import select, update


def lock_row(model, ident):
    """Lock one row for the rest of the transaction and return it freshly loaded (None if absent).

    Bumping `lock_version` is a write, so SQLite takes its database write lock (writers queue) and
    PostgreSQL its row lock; the SELECT ... FOR UPDATE states the PostgreSQL intent explicitly.
    """
    session = model.__fsa__.session  # the app's session, without importing extensions (which imports db)
    pk = model.__mapper__.primary_key[0]
    session.execute(update(model).where(pk == ident).values(lock_version=model.lock_version + 1))
    return session.scalar(select(model).where(pk == ident).with_for_update()
                          .execution_options(populate_existing=True))

"""The SQLite backend's fast path: statements compiled once, SELECTs outside transactions on a read-only
connection on the event loop (no pool, no thread), writes and transactions on pooled connections' threads."""

import asyncio
import sqlite3

import pytest

from conftest import count, sqlite_only

pytestmark = sqlite_only


async def test_a_statement_is_compiled_once_and_bound_to_each_call_s_values(app):
    db = app.state.db
    sql = "SELECT :a + :b AS total"
    assert await db.fetch_val(sql, {"a": 1, "b": 2}) == 3
    assert (await db.fetch_one(sql, {"a": 40, "b": 2}))["total"] == 42
    assert [key for key in db._backend._statements._cache if key[0] == sql] == [(sql, ("a", "b"), (int, int))]


async def test_selects_outside_a_transaction_go_to_a_connection_that_cannot_write(app, user):
    db = app.state.db
    assert await count(app, "SELECT count(*) FROM users") == 1
    reader = db._backend._pool._reader
    assert reader is not None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("DELETE FROM users")
    assert await count(app, "SELECT count(*) FROM users") == 1


async def test_a_transaction_reads_its_own_writes_and_others_do_not(app, user):
    db = app.state.db
    seen_elsewhere = []
    transaction = await db.transaction().__aenter__()
    try:
        await db.execute("DELETE FROM users")
        assert await count(app, "SELECT count(*) FROM users") == 0  # this task: inside the transaction
        seen_elsewhere.append(await asyncio.create_task(count(app, "SELECT count(*) FROM users")))
    finally:
        await transaction.rollback()
    assert seen_elsewhere == [1]
    assert await count(app, "SELECT count(*) FROM users") == 1


async def test_a_select_the_reader_finds_locked_waits_on_a_thread_instead_of_failing(app, user, monkeypatch):
    """The read-only connection gives up at once on a lock; the query then waits on a pooled connection, as writes do."""
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = sqlite3.SQLITE_BUSY

    class LockedReader:
        def cursor(self):
            raise locked

    monkeypatch.setattr(app.state.db._backend._pool, "reader", LockedReader)
    assert await count(app, "SELECT count(*) FROM users") == 1


async def test_a_select_outside_a_transaction_does_not_wait_for_a_pooled_connection(app, user):
    """Logged-in pages keep loading while every pooled connection is busy writing."""
    pool = app.state.db._backend._pool
    for _ in range(pool.size):
        await pool._free.acquire()
    try:
        assert await asyncio.wait_for(count(app, "SELECT count(*) FROM users"), timeout=5) == 1
    finally:
        for _ in range(pool.size):
            pool._free.release()

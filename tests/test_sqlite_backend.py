"""The SQLite backend: a bounded pool of connections that all carry the PRAGMAs, and indexed reads on the loop."""

import asyncio
import os
from pathlib import Path

from conftest import sqlite_only
from hxauth.sqlite_backend import POOL_SIZE

pytestmark = sqlite_only

# A statement that keeps a pooled connection busy for a while (a recursive CTE: never read on the loop), and
# reports that connection's own settings.
BUSY = """
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n)
SELECT (SELECT foreign_keys FROM pragma_foreign_keys) AS foreign_keys,
       (SELECT timeout FROM pragma_busy_timeout) AS busy_timeout,
       (SELECT journal_mode FROM pragma_journal_mode) AS journal_mode,
       count(*) AS steps
FROM c"""


def open_files(path: Path) -> int:
    """How many descriptors this process holds on the database file: one per open SQLite connection."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:
            pass
    return count


async def test_every_pooled_connection_carries_the_pragmas_and_they_are_kept_and_bounded(app, tmp_path):
    db = app.state.db
    results = await asyncio.gather(*[db.fetch_one(BUSY, {"n": 200_000}) for _ in range(POOL_SIZE + 3)])
    assert {(row.foreign_keys, row.busy_timeout, row.journal_mode) for row in results} == {(1, 5000, "wal")}
    # Several connections were opened at once, no more than the pool holds, and they stay open for reuse.
    assert 2 <= open_files(tmp_path / "hxauth.db") <= POOL_SIZE + 1  # + the reader
    for _ in range(20):
        await db.execute("UPDATE users SET name = name")
    assert open_files(tmp_path / "hxauth.db") <= POOL_SIZE + 1


async def test_an_indexed_read_does_not_wait_for_the_pool_and_a_scan_does(app, user):
    """Logged-in pages (one indexed look-up) keep loading while every pooled connection is busy; a full scan
    is not read on the loop's thread, so it waits its turn like a write."""
    db, queries = app.state.db, app.state.queries
    busy = [asyncio.create_task(db.fetch_one(BUSY, {"n": 3_000_000})) for _ in range(POOL_SIZE)]
    await asyncio.sleep(0)  # let them take the pool
    row = await db.fetch_one(queries.get_user_by_email, {"email": user["email"]})
    assert row.name == "Ann" and not any(task.done() for task in busy)
    assert await db.fetch_val("SELECT count(*) FROM users") == 1
    assert any(task.done() for task in busy)  # the scan had to wait for a pooled connection
    await asyncio.gather(*busy)


async def test_reads_on_the_loop_can_be_turned_off(tmp_path, user, app):
    from hxauth.database import open_database

    db = open_database(f"sqlite:///{tmp_path / 'hxauth.db'}", read_on_loop=False)
    await db.connect()
    try:
        busy = [asyncio.create_task(db.fetch_one(BUSY, {"n": 2_000_000})) for _ in range(POOL_SIZE)]
        await asyncio.sleep(0)
        assert (await db.fetch_one(app.state.queries.get_user_by_email, {"email": user["email"]})).name == "Ann"
        assert any(task.done() for task in busy)
        await asyncio.gather(*busy)
    finally:
        await db.disconnect()


async def test_a_read_only_database_url_is_honoured(tmp_path, app, user):
    import sqlite3

    import pytest

    from hxauth.database import open_database

    db = open_database(f"sqlite:///{tmp_path / 'hxauth.db'}?mode=ro")
    await db.connect()
    try:
        assert await db.fetch_val("SELECT count(*) FROM users") == 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await db.execute("DELETE FROM users")
    finally:
        await db.disconnect()

"""Faults: a locked, read-only or full database gets a 503 and nothing half-written."""

import sqlite3

import pytest

from conftest import HX, PASSWORD, count, csrf_token, make_client, sqlite_only
from hxauth.database import open_database

pytestmark = sqlite_only


@pytest.fixture
async def quick_app(make_app):
    """The app with a 0.2 s lock timeout, so a lock held elsewhere turns into a 503 quickly."""
    return await make_app(database_timeout=0.2)


async def test_a_database_locked_beyond_the_timeout_gets_503_and_nothing_half_written(quick_app, tmp_path):
    async with make_client(quick_app) as client:
        token = await csrf_token(client, "/accounts/signup")
        holder = sqlite3.connect(tmp_path / "hxauth.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process is writing and does not let go
        try:
            data = {"csrf_token": token, "name": "Bob", "email": "bob@example.com", "password": PASSWORD}
            response = await client.post("/accounts/signup", data=data, headers=HX)
            assert response.status_code == 503
            assert "database is locked" not in response.text
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert await count(quick_app, "SELECT count(*) FROM users") == 0
        # And once the lock is gone, the same signup works.
        assert (await client.post("/accounts/signup", data=data)).status_code == 303


async def test_a_read_only_database_gets_503(app, user, tmp_path):
    read_only = open_database(f"sqlite:///{tmp_path / 'hxauth.db'}?mode=ro")
    await read_only.connect()
    async with make_client(app) as client:
        token = await csrf_token(client)
        app.state.db = read_only
        response = await client.post("/accounts/login", data={"csrf_token": token, "email": user["email"], "password": PASSWORD})
        assert response.status_code == 503
    await read_only.disconnect()


async def test_a_full_disk_gets_503(make_app, tmp_path):
    app = await make_app(signup_limit=1000)
    full = open_database(f"sqlite:///{tmp_path / 'hxauth.db'}")
    await full.connect()
    async with full.connection() as connection:  # this connection goes back to the pool, still capped
        pages = await connection.fetch_val("PRAGMA page_count")
        await connection.execute(f"PRAGMA max_page_count = {pages}")
    async with make_client(app) as client:
        token = await csrf_token(client)
        app.state.db = full
        big = {"csrf_token": token, "name": "B" * 100, "email": "big@example.com", "password": "p" * 1000}
        for number in range(50):
            response = await client.post("/accounts/signup", data={**big, "email": f"big{number}@example.com"})
            if response.status_code != 303:
                break
        assert response.status_code == 503
    await full.disconnect()

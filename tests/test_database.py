"""The database: per-connection SQLite settings, migrations, named queries."""

import asyncio

import pytest

from conftest import count, database_url, sqlite_only
from hxauth.database import open_database
from hxauth.migrations import MigrationFailed, migrate, migrations
from hxauth.queries import Queries


async def table_names(db) -> set[str]:
    if db.url.dialect == "postgresql":
        rows = await db.fetch_all("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    else:
        rows = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0] for row in rows}


async def test_foreign_keys_are_enforced_through_the_apps_own_database(app):
    with pytest.raises(Exception, match="(?i)foreign key"):
        await app.state.db.execute(app.state.queries.insert_session, {"token_hash": "t", "user_id": 999, "now": 1})
    assert await count(app, "SELECT count(*) FROM sessions") == 0


@sqlite_only
async def test_every_pooled_connection_has_the_pragmas(app):
    """databases 0.9 opens a fresh connection per acquire; ours must all carry the settings."""
    db = app.state.db

    async def pragmas():
        async with db.connection() as connection:
            await asyncio.sleep(0.01)  # hold it, so the others need connections of their own
            return (
                await connection.fetch_val("PRAGMA foreign_keys"),
                await connection.fetch_val("PRAGMA busy_timeout"),
                await connection.fetch_val("PRAGMA journal_mode"),
            )

    results = await asyncio.gather(*[asyncio.create_task(pragmas()) for _ in range(6)])
    assert set(results) == {(1, 5000, "wal")}


async def test_migrations_are_recorded_and_applied_once(app):
    versions = [version for version, _ in migrations("sqlite")]
    assert versions[:2] == ["0001_create_users", "0002_create_sessions"]
    rows = await app.state.db.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    assert [row["version"] for row in rows] == versions
    assert await migrate(app.state.db) == []


def test_postgresql_gets_its_own_spelling_where_it_differs():
    chosen = dict(migrations("postgresql"))
    assert chosen["0001_create_users"].name == "0001_create_users.postgresql.sql"
    assert chosen["0002_create_sessions"].name == "0002_create_sessions.sql"
    assert dict(migrations("sqlite"))["0001_create_users"].name == "0001_create_users.sql"


async def test_a_failing_migration_leaves_the_schema_as_it_was(tmp_path):
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_good.sql").write_text("CREATE TABLE a (id INTEGER PRIMARY KEY);\n")
    (directory / "0002_bad.sql").write_text("CREATE TABLE b (id INTEGER PRIMARY KEY);\nCREATE TABLE oops (id INTEGER PRIMARY KEY,, x);\n")
    async with open_database(database_url(tmp_path)) as db:
        with pytest.raises(MigrationFailed, match="(?i)0002_bad.sql failed and was rolled back.*syntax"):
            await migrate(db, directory)
        tables = await table_names(db)
        assert "a" in tables and "b" not in tables
        assert [r[0] for r in await db.fetch_all("SELECT version FROM schema_migrations")] == ["0001_good"]


def test_queries_are_named_and_loaded_once():
    queries = Queries()
    assert queries.get_user_by_email.sql.startswith("SELECT")
    assert ":email" in queries.get_user_by_email.sql
    assert "$1" in queries.get_user_by_email.postgresql and queries.get_user_by_email.parameters == ("email",)


def test_a_query_name_defined_twice_is_an_error(tmp_path):
    (tmp_path / "a.sql").write_text("-- name: get_thing\n-- Returns it.\nSELECT 1;\n")
    (tmp_path / "b.sql").write_text("-- name: get_thing\n-- Returns it.\nSELECT 2;\n")
    with pytest.raises(ValueError, match="get_thing"):
        Queries(tmp_path)


async def test_start_up_waits_for_the_database_then_gives_a_clear_message():
    from hxauth.database import DatabaseUnavailable, wait_for_database

    gone = open_database("postgresql://postgres@127.0.0.1:9/test", min_size=0, timeout=1)  # port 9: nothing listens
    with pytest.raises(DatabaseUnavailable, match=r"cannot reach the database at postgresql://postgres@127.0.0.1:9/test after 1 s"):
        await wait_for_database(gone, 1)
    await gone.disconnect()

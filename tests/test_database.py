"""The database layer on both databases: one row type, row counts, transactions, named queries, migrations."""

import asyncio
import contextlib
import sqlite3

import pytest

from conftest import PASSWORD, TEST_DATABASE_URL, count, create_user, database_url, make_client, submit
from hxauth import accounts
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
        await accounts.create_session(app.state, 999)
    assert await count(app, "SELECT count(*) FROM sessions") == 0


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


def test_a_postgresql_query_file_replaces_only_the_postgresql_spelling(tmp_path):
    (tmp_path / "jobs.sql").write_text("-- name: claim_job\n-- Takes one.\nUPDATE jobs SET taken = 1 WHERE id = :id\n")
    (tmp_path / "jobs.postgresql.sql").write_text("-- name: claim_job\n-- Takes one.\nUPDATE jobs SET taken = 1 WHERE id = :id AND pg\n")
    query = Queries(tmp_path).claim_job
    assert query.sql == "UPDATE jobs SET taken = 1 WHERE id = :id"
    assert (query.postgresql, query.parameters) == ("UPDATE jobs SET taken = 1 WHERE id = $1 AND pg", ("id",))
    assert "SKIP LOCKED" in Queries().claim_outbox_messages.postgresql and "SKIP LOCKED" not in Queries().claim_outbox_messages.sql
    (tmp_path / "jobs.postgresql.sql").write_text("-- name: claim_jobs\n-- A typo.\nSELECT 1\n")
    with pytest.raises(ValueError, match="claim_jobs"):
        Queries(tmp_path)


async def test_start_up_waits_for_the_database_then_gives_a_clear_message():
    from hxauth.database import DatabaseUnavailable, wait_for_database

    gone = open_database("postgresql://postgres@127.0.0.1:9/test", min_size=0, timeout=1)  # port 9: nothing listens
    with pytest.raises(DatabaseUnavailable, match=r"cannot reach the database at postgresql://postgres@127.0.0.1:9/test after 1 s"):
        await wait_for_database(gone, 1)
    await gone.disconnect()


async def test_a_row_reads_the_same_on_both_databases(app, user):
    """row["name"], row.name, row[1] and dict(row), from a named query and from plain SQL alike."""
    db, queries = app.state.db, app.state.queries
    named = await db.fetch_one(queries.get_user_by_email, {"email": "ann@example.com"})
    plain = await db.fetch_one("SELECT id, name, email, password_hash FROM users WHERE email = :email", {"email": "ann@example.com"})
    for row in (named, plain):
        assert row["name"] == row.name == row[1] == dict(row)["name"] == row._mapping["name"] == "Ann"
        assert tuple(row)[:3] == (user["id"], "Ann", "ann@example.com")
    assert list(dict(plain)) == ["id", "name", "email", "password_hash"] and len(plain) == 4
    with pytest.raises(AttributeError, match="no column 'nope'"):
        named.nope
    rows = await db.fetch_all("SELECT name FROM users ORDER BY name")
    assert [row.name for row in rows] == ["Ann"]


async def test_execute_returns_how_many_rows_changed(app):
    db = app.state.db
    for number in range(3):
        await create_user(app, name=f"U{number}", email=f"u{number}@example.com")
    assert await db.execute("UPDATE users SET name = :name WHERE email LIKE :pattern", {"name": "X", "pattern": "u%"}) == 3
    assert await db.execute("DELETE FROM users WHERE email = :email", {"email": "u0@example.com"}) == 1
    assert await db.execute("DELETE FROM users WHERE email = :email", {"email": "nobody@example.com"}) == 0


async def test_a_transaction_sees_its_own_writes_others_see_them_only_after_commit(app, user):
    db = app.state.db
    outside = []
    async with db.transaction():
        await db.execute("UPDATE users SET name = :name", {"name": "Changed"})
        assert await db.fetch_val("SELECT name FROM users") == "Changed"
        outside.append(await asyncio.create_task(db.fetch_val("SELECT name FROM users")))
    assert outside == ["Ann"]
    assert await db.fetch_val("SELECT name FROM users") == "Changed"


async def test_a_failed_transaction_leaves_nothing_and_the_database_stays_usable(app, user):
    db = app.state.db
    for _ in range(6):  # more than the SQLite pool holds: a connection kept by a failed transaction would show
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await db.execute("DELETE FROM users")
                raise RuntimeError("changed my mind")
    assert await count(app, "SELECT count(*) FROM users") == 1


async def test_a_savepoint_rolls_back_alone(app, user):
    db = app.state.db
    async with db.transaction():
        await db.execute("UPDATE users SET name = :name", {"name": "Outer"})
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await db.execute("UPDATE users SET name = :name", {"name": "Inner"})
                raise RuntimeError
    assert await db.fetch_val("SELECT name FROM users") == "Outer"


async def test_query_names_must_be_identifiers(tmp_path):
    (tmp_path / "a.sql").write_text("-- name: get-thing\n-- Returns it.\nSELECT 1;\n")
    with pytest.raises(ValueError, match="get-thing"):
        Queries(tmp_path)


def test_a_named_query_is_spelled_for_each_database_once():
    from hxauth.queries import Query

    query = Query.parse("q", "SELECT CAST(:b AS text), :a, :b, z::text FROM t WHERE x = '::' AND y = :a")
    assert query.postgresql == "SELECT CAST($1 AS text), $2, $1, z::text FROM t WHERE x = '::' AND y = $2"
    assert query.parameters == ("b", "a")


@contextlib.asynccontextmanager
async def lock_held_elsewhere(app, tmp_path):
    """Another process holds the write lock on users (SQLite: the database's one write lock) and does not let go."""
    if app.state.db.url.dialect == "postgresql":
        import asyncpg

        holder = await asyncpg.connect(TEST_DATABASE_URL)
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            await transaction.rollback()
            await holder.close()
    else:
        holder = sqlite3.connect(tmp_path / "hxauth.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()


async def test_a_lock_held_beyond_the_timeout_is_a_503_with_nothing_half_written(make_app, tmp_path):
    app = await make_app(database_timeout=0.5)
    async with make_client(app) as client:
        async with lock_held_elsewhere(app, tmp_path):
            response = await submit(client, "/accounts/signup", {"name": "Bob", "email": "bob@example.com", "password": PASSWORD})
            assert response.status_code == 503 and "Temporarily unavailable" in response.text
        assert await count(app, "SELECT count(*) FROM users") == 0
        response = await submit(client, "/accounts/signup", {"name": "Bob", "email": "bob@example.com", "password": PASSWORD})
        assert response.status_code == 303
        assert await count(app, "SELECT count(*) FROM users") == 1


async def test_a_failing_migration_stops_the_app_from_starting(settings, tmp_path):
    """A database whose `users` table is not hxauth's: 0001 fails, is rolled back, and start-up stops saying so."""
    from app import create_app

    async with open_database(settings.database_url) as db:
        await db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    app = create_app(settings)
    with pytest.raises(MigrationFailed, match="0001_create_users.*sql failed and was rolled back"):
        async with app.router.lifespan_context(app):
            pass
    async with open_database(settings.database_url) as db:
        assert "sessions" not in await table_names(db)

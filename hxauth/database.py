"""The database: `databases` with a pooled SQLite backend, named queries and migrations."""

import asyncio
import logging
import re
import sqlite3
import time
from pathlib import Path

import aiosqlite
import databases
from databases.backends import sqlite

SQL = Path(__file__).resolve().parent.parent / "sql"

# Applied to every new SQLite connection: per-connection settings are lost otherwise.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA synchronous = NORMAL",
)


class SQLitePool(sqlite.SQLitePool):
    """Keep connections open between requests instead of opening one (and a thread) per query."""

    max_idle = 8

    def __init__(self, url, **options):
        super().__init__(url, **options)
        self._idle: list[aiosqlite.Connection] = []

    async def acquire(self) -> aiosqlite.Connection:
        if self._idle:
            return self._idle.pop()
        connection = aiosqlite.connect(database=self._database, isolation_level=None, **self._options)
        try:
            await connection.__aenter__()
        except BaseException:
            # aiosqlite stops its thread in the background; let it finish while the loop still runs.
            await asyncio.to_thread(connection._thread.join, 5)
            raise
        try:
            for pragma in SQLITE_PRAGMAS:
                await connection.execute(pragma)
        except BaseException:
            await super().release(connection)
            raise
        return connection

    async def release(self, connection: aiosqlite.Connection) -> None:
        if connection.in_transaction or len(self._idle) >= self.max_idle:
            await super().release(connection)
        else:
            self._idle.append(connection)

    async def close(self) -> None:
        while self._idle:
            await super().release(self._idle.pop())


class SQLiteTransaction(sqlite.SQLiteTransaction):
    async def start(self, is_root, extra_options):
        if not is_root:
            return await super().start(is_root, extra_options)
        # IMMEDIATE takes the write lock up front, so a busy database waits
        # (busy_timeout) instead of failing when a reader upgrades to a writer.
        self._is_root = True
        await self._connection._connection.execute("BEGIN IMMEDIATE")


class SQLiteConnection(sqlite.SQLiteConnection):
    def transaction(self):
        return SQLiteTransaction(self)


class SQLiteBackend(sqlite.SQLiteBackend):
    def __init__(self, database_url, **options):
        super().__init__(database_url, **options)
        self._pool = SQLitePool(self._database_url, **self._options)

    async def disconnect(self) -> None:
        await self._pool.close()
        await super().disconnect()

    def connection(self) -> SQLiteConnection:
        return SQLiteConnection(self._pool, self._dialect)


class Database(databases.Database):
    SUPPORTED_BACKENDS = {**databases.Database.SUPPORTED_BACKENDS, "sqlite": "hxauth.database:SQLiteBackend"}

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url.dialect in ("postgresql", "postgres") else self.url.dialect


def open_database(settings) -> Database:
    """The app's database, with the pool size and timeouts of the settings (PostgreSQL)."""
    database = Database(settings.database_url)
    if database.dialect == "postgresql":
        timeout = settings.database_timeout
        database = Database(
            settings.database_url, min_size=1, max_size=settings.database_pool_size, timeout=timeout, command_timeout=timeout
        )
    return database


class DatabaseUnavailable(Exception):
    """Start-up gave up waiting for the database."""


async def wait_for_database(database: Database, seconds: int) -> None:
    """Connect, retrying once a second for a while: at start-up the database may still be starting too."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            await database.connect()
            await database.fetch_val("SELECT 1")
            return
        except Exception as error:
            if not is_database_fault(error):
                raise
            if time.monotonic() >= deadline:
                where = database.url.obscure_password
                raise DatabaseUnavailable(f"cannot reach the database at {where} after {seconds} s: {error}") from None
            logging.getLogger("hxauth").warning("waiting for the database: %s", error)
            await asyncio.sleep(1)


def is_unique_violation(error: Exception) -> bool:
    if isinstance(error, sqlite3.IntegrityError):
        return "UNIQUE" in str(error)
    return type(error).__name__ == "UniqueViolationError"


def is_database_fault(error: BaseException) -> bool:
    """The database is unreachable, locked, read-only or full: the request can be retried later."""
    if isinstance(error, (sqlite3.OperationalError, OSError, TimeoutError)):
        return True
    try:
        import asyncpg
    except ImportError:
        return False
    return isinstance(
        error,
        (
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.CannotConnectNowError,
            asyncpg.TooManyConnectionsError,
            asyncpg.ReadOnlySQLTransactionError,
            asyncpg.InsufficientResourcesError,
            asyncpg.QueryCanceledError,
        ),
    )


class Queries:
    """Named queries from sql/queries/*.sql, read once: `-- name: verb_noun`, a comment, one statement."""

    def __init__(self, directory: Path = SQL / "queries"):
        for path in sorted(directory.glob("*.sql")):
            for name, statement in _named_statements(path.read_text()):
                if hasattr(self, name):
                    raise ValueError(f"query {name!r} is defined twice ({path.name})")
                setattr(self, name, statement)


def _named_statements(text: str):
    for chunk in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        name, _, body = chunk.partition("\n")
        statement = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("--"))
        yield name.strip(), statement.strip().rstrip(";")


def _statements(text: str) -> list[str]:
    """Split a migration on `;` at line ends; comment-only pieces are dropped."""
    pieces = re.split(r";[ \t]*(?:\n|$)", text)
    return [p.strip() for p in pieces if re.sub(r"--[^\n]*", "", p).strip()]


def migrations(dialect: str, directory: Path = SQL / "migrations") -> list[tuple[str, Path]]:
    """Numbered migrations in order; `NNNN_name.<dialect>.sql` replaces `NNNN_name.sql` where SQL differs."""
    chosen: dict[str, Path] = {}
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        version, *suffix = path.name.removesuffix(".sql").split(".")
        if not suffix or suffix == [dialect]:
            if suffix or version not in chosen:
                chosen[version] = path
    return sorted(chosen.items())


CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version TEXT PRIMARY KEY,
    applied_at BIGINT NOT NULL
)"""


async def migrate(database: Database, directory: Path = SQL / "migrations") -> list[str]:
    """Apply pending migrations in order, each in its own transaction; return the versions applied."""
    applied = []
    for version, path in migrations(database.dialect, directory):
        async with database.transaction():
            if database.dialect == "postgresql":
                # Several instances may start at once: one migrates, the others wait.
                await database.execute("SELECT pg_advisory_xact_lock(7262011)")
            await database.execute(CREATE_MIGRATIONS_TABLE)
            done = await database.fetch_val(
                "SELECT count(*) FROM schema_migrations WHERE version = :version", {"version": version}
            )
            if done:
                continue
            for statement in _statements(path.read_text()):
                await database.execute(statement)
            await database.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :now)",
                {"version": version, "now": int(time.time())},
            )
        applied.append(version)
    return applied


async def pending_migrations(database: Database) -> list[str]:
    """Versions not applied yet (fails if no migration ever ran)."""
    done = {row[0] for row in await database.fetch_all("SELECT version FROM schema_migrations")}
    return [version for version, _ in migrations(database.dialect) if version not in done]

"""The database: `databases` with a pooled SQLite backend, named queries and migrations."""

import asyncio
import logging
import re
import sqlite3
import time
import typing
from pathlib import Path

import aiosqlite
import databases
import databases.core
from databases.backends import sqlite
from sqlalchemy import text

SQL = Path(__file__).resolve().parent.parent / "sql"

# Applied to every new SQLite connection: per-connection settings are lost otherwise.
# (The busy timeout is sqlite3.connect's `timeout`, from DATABASE_TIMEOUT.)
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
)


class SQLitePool(sqlite.SQLitePool):
    """At most `size` connections, opened once (with the PRAGMAs) and reused; when all are busy a caller waits.

    `databases` 0.9 would open a connection, and its thread, per query. Each
    aiosqlite connection has a thread; `reader()` is the one connection without.
    """

    size = 4

    def __init__(self, url, **options):
        super().__init__(url, **options)
        self._idle: list[aiosqlite.Connection] = []
        self._free = asyncio.Semaphore(self.size)
        self._reader: sqlite3.Connection | None = None

    def reader(self) -> sqlite3.Connection:
        """A connection that can only read, for SELECTs outside transactions, used on the event loop's thread."""
        if self._reader is None:
            # timeout=0: if the database is locked, fail at once; the query then waits on a worker thread instead.
            options = {**self._options, "timeout": 0, "isolation_level": None, "check_same_thread": False}
            reader = sqlite3.connect(self._database, **options)
            reader.execute("PRAGMA query_only = ON")  # the other PRAGMAs only matter to writes
            self._reader = reader
        return self._reader

    async def acquire(self) -> aiosqlite.Connection:
        await self._free.acquire()
        try:
            return self._idle.pop() if self._idle else await self._open()
        except BaseException:
            self._free.release()
            raise

    async def _open(self) -> aiosqlite.Connection:
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
        try:
            if connection.in_transaction:  # left mid-transaction (an error): close it rather than reuse it
                await super().release(connection)
            else:
                self._idle.append(connection)
        finally:
            self._free.release()

    async def close(self) -> None:
        while self._idle:
            await super().release(self._idle.pop())
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class SQLiteTransaction(sqlite.SQLiteTransaction):
    async def start(self, is_root, extra_options):
        if not is_root:
            return await super().start(is_root, extra_options)
        # IMMEDIATE takes the write lock up front, so a busy database waits
        # (busy_timeout) instead of failing when a reader upgrades to a writer.
        self._is_root = True
        await self._connection._connection.execute("BEGIN IMMEDIATE")


class RawQuery(typing.NamedTuple):
    """A SQL string and its values, handed to the SQLite backend as they are (not wrapped in `text()` per call)."""

    sql: str
    values: dict


class Statement(typing.NamedTuple):
    """One SQL string as SQLAlchemy compiled it, kept for reuse: the `?` SQL, and each parameter's name and
    bind processor (databases compiles every query anew)."""

    sql: str
    parameters: tuple
    result_columns: list  # for databases' own iterate()
    context: sqlite.CompilationContext
    is_select: bool


MAX_CACHED_STATEMENTS = 512


class Statements:
    """Each SQL string compiled by SQLAlchemy once, for every connection of the pool (databases compiles per query)."""

    def __init__(self, dialect):
        self._dialect = dialect  # read by databases' SQLite compiler, borrowed below
        self._cache: dict = {}

    def get(self, query: RawQuery) -> tuple[Statement, list]:
        """The compiled statement and the query's values in its `?` order."""
        values = query.values
        # One entry per SQL string, parameter names and value types (the types choose SQLAlchemy's bind processors).
        key = (query.sql, tuple(values), tuple(map(type, values.values())))
        statement = self._cache.get(key)
        if statement is None:
            if len(self._cache) >= MAX_CACHED_STATEMENTS:
                self._cache.clear()  # SQL built from values would otherwise grow the cache forever
            clause = text(query.sql).bindparams(**values)
            sql, _, result_columns, context = sqlite.SQLiteConnection._compile(self, clause)
            compiled = clause.compile(dialect=self._dialect, compile_kwargs={"render_postcompile": True})
            parameters = tuple((name, compiled._bind_processors.get(name)) for name in compiled.positiontup)
            is_select = sql.lstrip().upper().startswith("SELECT")
            statement = self._cache[key] = Statement(sql, parameters, result_columns, context, is_select)
        args = [values[name] if process is None else process(values[name]) for name, process in statement.parameters]
        return statement, args


class SQLiteConnection(sqlite.SQLiteConnection):
    """databases' SQLite connection, minus its per-query costs: SQL compiled once, and each query one trip
    to the connection's thread (three in databases)."""

    def __init__(self, pool, dialect, statements: Statements):
        super().__init__(pool, dialect)
        self._statements = statements

    def transaction(self):
        return SQLiteTransaction(self)

    def _compile(self, query):
        if not isinstance(query, RawQuery):
            return super()._compile(query)
        statement, args = self._statements.get(query)
        return statement.sql, args, statement.result_columns, statement.context

    async def _run(self, query: RawQuery, fetch: str):
        """Execute, fetch ("one", "all" or nothing) and close the cursor, in one trip to the connection's thread."""
        assert self._connection is not None, "Connection is not acquired"
        statement, args = self._statements.get(query)
        return await self._connection._execute(_execute, self._connection._conn, statement.sql, args, fetch)

    async def fetch_all(self, query):
        if not isinstance(query, RawQuery):
            return await super().fetch_all(query)
        rows, _, _ = await self._run(query, "all")
        return rows

    async def fetch_one(self, query):
        if not isinstance(query, RawQuery):
            return await super().fetch_one(query)
        rows, _, _ = await self._run(query, "one")
        return rows[0] if rows else None

    async def execute(self, query):
        if not isinstance(query, RawQuery):
            return await super().execute(query)
        _, last_row_id, row_count = await self._run(query, "")
        return row_count if last_row_id == 0 else last_row_id


def _execute(connection: sqlite3.Connection, sql: str, args: list, fetch: str):
    """Execute, fetch and close in one call: on the aiosqlite connection's thread, or on the loop for the reader.

    Rows are `sqlite3.Row`s: `row["name"]` and `row[0]`, as with databases' records (and PostgreSQL's),
    built in C rather than through SQLAlchemy's result machinery.
    """
    cursor = connection.cursor()
    cursor.row_factory = sqlite3.Row
    try:
        cursor.execute(sql, args)
        if fetch == "all":
            rows = cursor.fetchall()
        else:
            row = cursor.fetchone() if fetch == "one" else None
            rows = [] if row is None else [row]
        return rows, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class SQLiteBackend(sqlite.SQLiteBackend):
    def __init__(self, database_url, **options):
        super().__init__(database_url, **options)
        self._pool = SQLitePool(self._database_url, **self._options)
        self._statements = Statements(self._dialect)

    async def disconnect(self) -> None:
        await self._pool.close()
        await super().disconnect()

    def connection(self) -> SQLiteConnection:
        return SQLiteConnection(self._pool, self._dialect, self._statements)

    def read(self, query: RawQuery, fetch: str) -> list[sqlite3.Row] | None:
        """Run a SELECT at once on the pool's read-only connection, on the event loop; None if it is not a
        SELECT or the database is locked (the caller then takes a pooled connection).

        A trip to a connection's thread and back costs far more than an indexed lookup,
        and in WAL mode reads never wait for writers.
        """
        statement, args = self._statements.get(query)
        if not statement.is_select:
            return None
        try:
            rows, _, _ = _execute(self._pool.reader(), statement.sql, args, fetch)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None
            raise
        return rows


class Connection(databases.core.Connection):
    """databases' per-task connection; raw SQL goes to the SQLite backend as it is, to be compiled once there."""

    def _build_query(self, query, values=None):
        if isinstance(query, str) and isinstance(self._backend, SQLiteBackend):
            return RawQuery(query, values or {})
        return databases.core.Connection._build_query(query, values)


class Database(databases.Database):
    SUPPORTED_BACKENDS = {**databases.Database.SUPPORTED_BACKENDS, "sqlite": "hxauth.database:SQLiteBackend"}

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url.dialect in ("postgresql", "postgres") else self.url.dialect

    def connection(self) -> Connection:
        # databases.Database.connection(), with our Connection (one per task, as there).
        if self._global_connection is not None:
            return self._global_connection
        if not self._connection:
            self._connection = Connection(self, self._backend)
        return self._connection

    async def fetch_all(self, query, values=None):
        rows = self._read_outside_transaction(query, values, "all")
        return await super().fetch_all(query, values) if rows is None else rows

    async def fetch_one(self, query, values=None):
        rows = self._read_outside_transaction(query, values, "one")
        if rows is None:
            return await super().fetch_one(query, values)
        return rows[0] if rows else None

    async def fetch_val(self, query, values=None, column=0):
        rows = self._read_outside_transaction(query, values, "one")
        if rows is None:
            return await super().fetch_val(query, values, column)
        return rows[0][column] if rows else None

    def _read_outside_transaction(self, query, values, fetch: str) -> list[sqlite3.Row] | None:
        """On SQLite, a SELECT from a task that holds no connection (so is in no transaction) needs neither
        the pool nor databases' per-task locks: the backend reads it at once. None when it cannot."""
        if (
            isinstance(query, str)
            and isinstance(self._backend, SQLiteBackend)
            and self._global_connection is None
            # databases' "this task's connection": when no task holds one, no need to ask which task this is
            and (not self._connection_map or self._connection_map.get(asyncio.current_task()) is None)
        ):
            return self._backend.read(RawQuery(query, values or {}), fetch)
        return None


def open_database(settings) -> Database:
    """The app's database, with the pool size and timeouts of the settings."""
    timeout = settings.database_timeout
    if Database(settings.database_url).dialect == "postgresql":
        return Database(
            settings.database_url, min_size=1, max_size=settings.database_pool_size, timeout=timeout, command_timeout=timeout
        )
    return Database(settings.database_url, timeout=timeout)  # how long a write waits for a lock


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


# SQLite's primary result codes for a database that is there but cannot serve now (not a mistake in the SQL).
SQLITE_FAULTS = {
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT,
}


def is_database_fault(error: BaseException) -> bool:
    """The database is unreachable, locked, read-only or full: the request can be retried later.

    A mistake in the SQL (SQLITE_ERROR, a PostgreSQL syntax error) is not one: that is a bug, a 500.
    """
    if isinstance(error, sqlite3.OperationalError):
        return (getattr(error, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF) in SQLITE_FAULTS
    if isinstance(error, (OSError, TimeoutError)):
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


class MigrationFailed(Exception):
    """A migration's SQL is wrong; its transaction was rolled back and start-up stops."""


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
            try:
                for statement in _statements(path.read_text()):
                    await database.execute(statement)
            except Exception as error:
                if is_database_fault(error):
                    raise
                raise MigrationFailed(f"{path.name} failed and was rolled back; nothing else was applied: {error}") from error
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

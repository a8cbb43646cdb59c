"""PostgreSQL for `databases`, on its public interfaces: an asyncpg pool, each statement prepared once per connection.

Named queries carry their `$1` spelling from start-up (hxauth.queries), and
asyncpg keeps every statement it has prepared on a connection, so a query costs
one round trip and no compile (databases' own backend compiles each one with
SQLAlchemy: 2-3 times the cost of the round trip here).
"""

import asyncpg
from databases.interfaces import DatabaseBackend, TransactionBackend

from hxauth.database import LazyConnection, Record
from hxauth.queries import sql_and_values


def _arguments(statement) -> tuple[str, list]:
    query, values = sql_and_values(statement)
    return query.postgresql, [values[name] for name in query.parameters]


_columns_of: dict[tuple, dict[str, int]] = {}


def _record(row: asyncpg.Record) -> Record:
    keys = tuple(row.keys())
    columns = _columns_of.get(keys)
    if columns is None:
        if len(_columns_of) >= 256:
            _columns_of.clear()
        columns = _columns_of[keys] = {name: position for position, name in enumerate(keys)}
    return Record(columns, tuple(row.values()))


async def _keep_session(connection: asyncpg.Connection) -> None:
    """asyncpg's pool `reset`: nothing beyond the rollback of a transaction left open, which asyncpg always does.

    Its default also runs RESET ALL, UNLISTEN *, CLOSE ALL and unlocks advisory locks: a second round trip
    for every query outside a transaction (it doubled the logged-in page's query time here). hxauth sets no
    session state; code built on it that does (SET, LISTEN, session-level advisory locks) should undo it
    itself, or pass `reset=None` to open_database for asyncpg's default.
    """


def _row_count(status: str) -> int:
    """asyncpg's command status ("DELETE 3", "INSERT 0 1") as the number of rows changed."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class PostgresBackend(DatabaseBackend):
    def __init__(self, url, *, min_size: int = 1, max_size: int = 10, timeout: float = 5.0, **options):
        self._dsn = str(url.replace(driver=""))  # postgresql://...: asyncpg reads the URL itself
        # timeout: connecting; command_timeout: each query (a lock held too long becomes a 503, not a hang).
        self._options = {
            "min_size": min_size, "max_size": max_size, "timeout": timeout, "command_timeout": timeout,
            "reset": _keep_session, **options,
        }
        self._pool: asyncpg.Pool | None = None

    async def connect(self) -> None:
        self._pool = await asyncpg.create_pool(self._dsn, **self._options)

    async def disconnect(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def connection(self) -> "PostgresConnection":
        return PostgresConnection(self)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database is not connected")
        return self._pool

    async def acquire(self) -> asyncpg.Connection:
        return await self.pool.acquire()

    async def release(self, connection: asyncpg.Connection) -> None:
        await self.pool.release(connection)


class PostgresConnection(LazyConnection):
    def transaction(self) -> "PostgresTransaction":
        return PostgresTransaction(self)

    def _runner(self):
        return self._held if self._held is not None else self._backend.pool

    async def fetch_all(self, query) -> list[Record]:
        sql, arguments = _arguments(query)
        return [_record(row) for row in await self._runner().fetch(sql, *arguments)]

    async def fetch_one(self, query) -> Record | None:
        sql, arguments = _arguments(query)
        row = await self._runner().fetchrow(sql, *arguments)
        return None if row is None else _record(row)

    async def execute(self, query) -> int:
        """The number of rows the statement changed (inserted, updated or deleted)."""
        sql, arguments = _arguments(query)
        return _row_count(await self._runner().execute(sql, *arguments))


class PostgresTransaction(TransactionBackend):
    """asyncpg's transaction (a savepoint when nested). If the outermost start, commit or rollback fails, the
    pooled connection goes back at once: databases would keep it."""

    def __init__(self, connection: PostgresConnection):
        self._connection = connection
        self._transaction = None
        self._is_root = False

    async def start(self, is_root: bool, extra_options: dict) -> None:
        self._is_root = is_root
        connection = await self._connection.hold()
        self._transaction = connection.transaction(**extra_options)
        await self._give_back_if_it_fails(self._transaction.start())

    async def commit(self) -> None:
        await self._give_back_if_it_fails(self._transaction.commit())

    async def rollback(self) -> None:
        await self._give_back_if_it_fails(self._transaction.rollback())

    async def _give_back_if_it_fails(self, step) -> None:
        try:
            await step
        except BaseException:
            if self._is_root:
                await self._connection.release()
            raise

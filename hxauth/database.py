"""Connecting: `databases` on hxauth's own backends for SQLite and PostgreSQL, one row type, and waiting at start-up.

Both backends are written against `databases.interfaces` alone and registered
by URL scheme in `databases.Database.SUPPORTED_BACKENDS` (added beside its own
entries, which stay as they are): `sqlite+hxauth://` and `postgresql+hxauth://`.
`open_database` turns a plain `sqlite:///` or `postgresql://` URL into those.
"""

import asyncio
import logging
import time
import typing
from collections.abc import Mapping

import databases
import databases.interfaces

from hxauth.faults import is_database_fault

BACKENDS = {
    "sqlite": "hxauth.sqlite_backend:SQLiteBackend",
    "postgresql": "hxauth.postgres_backend:PostgresBackend",
}
for _dialect, _backend in BACKENDS.items():
    databases.Database.SUPPORTED_BACKENDS.setdefault(f"{_dialect}+hxauth", _backend)


def database_url(url: str) -> str:
    """`url` with hxauth's backend named in its scheme (postgres:// and postgresql+asyncpg:// included)."""
    scheme, separator, rest = url.partition("://")
    dialect = {"postgres": "postgresql"}.get(scheme.split("+")[0], scheme.split("+")[0])
    if not separator or dialect not in BACKENDS:
        raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {url!r}")
    return f"{dialect}+hxauth://{rest}"


def open_database(url: str, *, timeout: float = 5.0, pool_size: int = 10, **options) -> databases.Database:
    """A `databases.Database` on hxauth's backend for `url` (not connected yet).

    `timeout`: connect and query timeout on PostgreSQL, how long a write waits for
    the lock on SQLite. `pool_size`: PostgreSQL connections (SQLite has its own, small, pool).
    """
    url = database_url(url)
    if url.startswith("postgresql"):
        options = {"min_size": 1, "max_size": pool_size, **options}
    return databases.Database(url, timeout=timeout, **options)


class Record(databases.interfaces.Record):
    """A row, the same on both databases: `row["name"]`, `row.name`, `row[0]`, `dict(row)`, `row._mapping`."""

    __slots__ = ("_columns", "_values")

    def __init__(self, columns: dict[str, int], values: tuple):
        self._columns = columns  # name -> position, shared by every row of a result
        self._values = values

    @property
    def _mapping(self) -> Mapping:
        return dict(zip(self._columns, self._values))

    def keys(self):
        return self._columns.keys()

    def values(self):
        return self._values

    def items(self):
        return zip(self._columns, self._values)

    def __getitem__(self, key: typing.Any) -> typing.Any:
        if isinstance(key, str):
            return self._values[self._columns[key]]
        return self._values[key]

    def __getattr__(self, name: str) -> typing.Any:
        try:
            return self._values[self._columns[name]]
        except KeyError:
            raise AttributeError(f"this row has no column {name!r}") from None

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def __eq__(self, other) -> bool:
        if isinstance(other, Record):
            return self._values == other._values and list(self._columns) == list(other._columns)
        return self._values == other

    __hash__ = None

    def __repr__(self) -> str:
        return f"Record({self._mapping!r})"


class LazyConnection(databases.interfaces.ConnectionBackend):
    """One `databases` connection, for both backends. It holds a pooled connection only while a transaction
    needs one; outside one, each query borrows a connection for itself (and on SQLite an indexed read needs
    none), so a task that runs one query costs the pool nothing in between.

    A backend gives `acquire()` / `release(connection)` for its pool; a subclass adds the queries and `transaction()`.
    """

    def __init__(self, backend):
        self._backend = backend
        self._held = None

    async def acquire(self) -> None:
        """Nothing yet: see the class."""

    async def release(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            await self._backend.release(held)

    async def hold(self):
        """The pooled connection this one keeps until `release`: for a transaction."""
        if self._held is None:
            self._held = await self._backend.acquire()
        return self._held

    async def execute_many(self, queries) -> None:
        for query in queries:
            await self.execute(query)

    async def iterate(self, query):
        for row in await self.fetch_all(query):
            yield row

    @property
    def raw_connection(self):
        """The driver's connection this one holds (aiosqlite's or asyncpg's): only inside a transaction."""
        if self._held is None:
            raise RuntimeError("raw_connection is only there inside a transaction (async with db.transaction())")
        return self._held


class DatabaseUnavailable(Exception):
    """Start-up gave up waiting for the database."""


async def wait_for_database(database: databases.Database, seconds: float) -> None:
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
                where = database.url.obscure_password.replace("+hxauth", "")
                raise DatabaseUnavailable(f"cannot reach the database at {where} after {seconds} s: {error}") from None
            logging.getLogger("hxauth").warning("waiting for the database: %s", error)
            await asyncio.sleep(1)

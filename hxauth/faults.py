"""Telling a database that cannot serve now (a 503) from a mistake in the SQL (a 500) and a duplicate (a 409)."""

import sqlite3

import asyncpg

# SQLite's primary result codes for a database that is there but cannot serve now.
SQLITE_FAULTS = {
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT,
}
POSTGRES_FAULTS = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.QueryCanceledError,
    asyncpg.LockNotAvailableError,
)
# Every exception class that can be a fault: what the app registers its 503 handler for.
FAULT_TYPES = (sqlite3.OperationalError, OSError, TimeoutError, *POSTGRES_FAULTS)


def is_database_fault(error: BaseException) -> bool:
    """The database is unreachable, locked, read-only or full: the request can be retried later.

    A mistake in the SQL (SQLITE_ERROR, a PostgreSQL syntax error) is not one: that is a bug, a 500.
    """
    if isinstance(error, sqlite3.OperationalError):
        return (getattr(error, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF) in SQLITE_FAULTS
    return isinstance(error, (OSError, TimeoutError, *POSTGRES_FAULTS))


def is_unique_violation(error: BaseException) -> bool:
    """A unique index refused the row (an email already taken)."""
    if isinstance(error, sqlite3.IntegrityError):
        return (getattr(error, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_CONSTRAINT and "UNIQUE" in str(error)
    return isinstance(error, asyncpg.UniqueViolationError)

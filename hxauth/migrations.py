"""Numbered SQL migrations: applied in order, each in its own transaction, recorded in schema_migrations."""

import re
import time
from pathlib import Path

from hxauth.faults import is_database_fault
from hxauth.queries import SQL

MIGRATIONS = SQL / "migrations"
CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version TEXT PRIMARY KEY,
    applied_at BIGINT NOT NULL
)"""


class MigrationFailed(Exception):
    """A migration's SQL is wrong; its transaction was rolled back and start-up stops."""


def migrations(dialect: str, directory: Path = MIGRATIONS) -> list[tuple[str, Path]]:
    """Numbered migrations in order; `NNNN_name.<dialect>.sql` replaces `NNNN_name.sql` where SQL differs."""
    chosen: dict[str, Path] = {}
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        version, *suffix = path.name.removesuffix(".sql").split(".")
        if not suffix or suffix == [dialect]:
            if suffix or version not in chosen:
                chosen[version] = path
    return sorted(chosen.items())


def _statements(text: str) -> list[str]:
    """Split a migration on `;` at line ends; comment-only pieces are dropped."""
    pieces = re.split(r";[ \t]*(?:\n|$)", text)
    return [p.strip() for p in pieces if re.sub(r"--[^\n]*", "", p).strip()]


async def migrate(database, directory: Path = MIGRATIONS) -> list[str]:
    """Apply pending migrations in order, each in its own transaction; return the versions applied."""
    dialect = database.url.dialect
    applied = []
    for version, path in migrations(dialect, directory):
        async with database.transaction():
            if dialect == "postgresql":
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


async def pending_migrations(database) -> list[str]:
    """Versions not applied yet (fails if no migration ever ran)."""
    done = {row[0] for row in await database.fetch_all("SELECT version FROM schema_migrations")}
    return [version for version, _ in migrations(database.url.dialect) if version not in done]


def new_migration(name: str, directory: Path = MIGRATIONS) -> Path:
    """Create the next numbered, empty migration file; `name` says what it does."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise ValueError("give the migration a name, e.g. add_users_last_login")
    numbers = [int(path.name[:4]) for path in directory.glob("[0-9][0-9][0-9][0-9]_*.sql")]
    path = directory / f"{max(numbers, default=0) + 1:04d}_{slug}.sql"
    path.write_text(f"-- {name}\n-- One statement per `;` at a line end. For PostgreSQL-only SQL, add {path.stem}.postgresql.sql.\n")
    return path

"""The named queries of sql/queries/*.sql, read and prepared for each database once, at start-up.

`db.fetch_one(queries.get_user_by_email, {"email": email})` is databases' own
query API: for a query that is not a string, databases binds the values by
calling `query.values(**values)` (as it does for SQLAlchemy's insert()), which
here makes a `BoundQuery` at the cost of one small object. A plain string still
works, through SQLAlchemy's `text()`, at ~60 µs a call.
"""

import dataclasses
import re
from pathlib import Path

SQL = Path(__file__).resolve().parent.parent / "sql"
NAME = re.compile(r"[a-z][a-z0-9_]*")
# `:name` as SQLAlchemy's text() reads it: not `::type` casts, not `\:`.
PARAMETER = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    """One named statement, in SQLite's spelling (`:name`) and asyncpg's (`$1` in `parameters` order)."""

    name: str
    sql: str
    postgresql: str
    parameters: tuple[str, ...]

    @classmethod
    def parse(cls, name: str, sql: str) -> "Query":
        parameters: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(1) not in parameters:
                parameters.append(match.group(1))
            return f"${parameters.index(match.group(1)) + 1}"

        return cls(name, sql, PARAMETER.sub(number, sql), tuple(parameters))

    def values(self, **values) -> "BoundQuery":
        """What databases calls with the values of `db.fetch_one(query, values)`."""
        return BoundQuery(self, values)

    def __str__(self) -> str:
        return self.sql


@dataclasses.dataclass(frozen=True, slots=True)
class BoundQuery:
    query: Query
    values: dict


def sql_and_values(statement) -> tuple[Query, dict]:
    """The query and its values, whatever databases handed the backend.

    A named query arrives as it is, or bound; a plain string arrives as
    SQLAlchemy's `TextClause`, whose values are read from `_bindparams`: the one
    private attribute the database layer reads (SQLAlchemy's own cache-key
    traversal names it, so it is not renamed lightly; tests/test_database.py
    covers it on both databases).
    """
    if isinstance(statement, BoundQuery):
        return statement.query, statement.values
    if isinstance(statement, Query):
        return statement, {}
    values = {name: bind.value for name, bind in statement._bindparams.items()}
    return _parse_text(statement.text), values


_parsed: dict[str, Query] = {}


def _parse_text(sql: str) -> Query:
    """Ad-hoc SQL, parsed once per distinct string (bounded: SQL built from values must not grow it forever)."""
    query = _parsed.get(sql)
    if query is None:
        if len(_parsed) >= 512:
            _parsed.clear()
        query = _parsed[sql] = Query.parse("", sql)
    return query


class Queries:
    """Named queries from sql/queries/*.sql: `-- name: verb_noun`, a comment line, one statement.

    Where PostgreSQL needs other SQL (e.g. `FOR UPDATE SKIP LOCKED`), `<file>.postgresql.sql` gives that
    query again under the same name: its PostgreSQL spelling replaces the one made from `<file>.sql`.
    """

    def __init__(self, directory: Path = SQL / "queries"):
        paths = sorted(directory.glob("*.sql"))
        for path in (path for path in paths if not path.name.endswith(".postgresql.sql")):
            for name, statement in _named_statements(path.read_text()):
                if not NAME.fullmatch(name):
                    raise ValueError(f"query name {name!r} in {path.name} is not a lower-case identifier")
                if hasattr(self, name):
                    raise ValueError(f"query {name!r} is defined twice ({path.name})")
                setattr(self, name, Query.parse(name, statement))
        for path in (path for path in paths if path.name.endswith(".postgresql.sql")):
            for name, statement in _named_statements(path.read_text()):
                if not hasattr(self, name):
                    raise ValueError(f"{path.name} spells {name!r}, which no sql/queries/*.sql file defines")
                postgresql = Query.parse(name, statement)
                setattr(self, name, dataclasses.replace(getattr(self, name), postgresql=postgresql.postgresql, parameters=postgresql.parameters))


def _named_statements(text: str):
    for chunk in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        name, _, body = chunk.partition("\n")
        statement = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("--"))
        yield name.strip(), statement.strip().rstrip(";")

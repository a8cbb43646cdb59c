"""The `hxauth` command."""

import asyncio
import io
import re
import subprocess
import sys

import pytest

from conftest import create_user_in, database_url as url_for_tests
from hxauth import cli
from hxauth.database import open_database
from hxauth.migrations import migrate


def fetch_one(url: str, sql: str):
    async def query():
        async with open_database(url) as db:
            return await db.fetch_one(sql)

    return asyncio.run(query())


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    url = url_for_tests(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "cli-test-" + "c" * 40)
    monkeypatch.setenv("ARGON2_TIME_COST", "1")
    monkeypatch.setenv("ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("ARGON2_PARALLELISM", "1")
    return url


def test_migrate_applies_then_has_nothing_to_do(database_url, capsys):
    assert cli.main(["migrate"]) == 0
    assert "applied 0001_create_users" in capsys.readouterr().out
    assert cli.main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert fetch_one(database_url, "SELECT count(*) FROM schema_migrations")[0] >= 3
    assert fetch_one(database_url, "SELECT count(*) FROM sessions")[0] == 0


def test_create_user_reads_the_password_from_stdin_and_refuses_a_duplicate(database_url, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery staple\n"))
    assert cli.main(["create-user", "--name", "Ann", "--email", "Ann@Example.com", "--password-stdin"]) == 0
    assert "created user 1 <ann@example.com>" in capsys.readouterr().out
    row = fetch_one(database_url, "SELECT name, email, password_hash FROM users")
    assert (row[0], row[1]) == ("Ann", "ann@example.com") and row[2].startswith("$argon2id$")
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery staple\n"))
    assert cli.main(["create-user", "--name", "Ann", "--email", "ann@example.com", "--password-stdin"]) == 1
    assert "User already exists" in capsys.readouterr().err


def test_create_user_applies_the_password_rules(database_url, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli.main(["create-user", "--name", "Ann", "--email", "ann@example.com", "--password-stdin"]) == 2
    assert "at least 15" in capsys.readouterr().err


def test_new_migration_creates_the_next_numbered_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0007_existing.sql").write_text("")
    monkeypatch.setattr(cli, "MIGRATIONS", tmp_path / "migrations")
    assert cli.main(["new-migration", "Add users: last login!"]) == 0
    assert (tmp_path / "migrations" / "0008_add_users_last_login.sql").exists()


def test_an_unreachable_database_is_a_clear_message(monkeypatch, capsys):
    """The command waits DATABASE_WAIT_SECONDS for the database, as the app does at start-up; 0 here, so it says so at once."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/test")  # port 9: nothing listens
    monkeypatch.setenv("DATABASE_WAIT_SECONDS", "0")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert cli.main(["migrate"]) == 1
    assert "cannot reach the database at postgresql://postgres@127.0.0.1:9/test after 0 s" in capsys.readouterr().err


def test_help_explains_each_command():
    result = subprocess.run([sys.executable, "-m", "hxauth.cli", "--help"], capture_output=True, text=True, check=True)
    listed = re.findall(r"^    (\S+)(?:\s+\S.*)?$", result.stdout, re.MULTILINE)  # argparse's command list, one per line
    assert listed == ["migrate", "new-migration", "cleanup", "create-user", "send-test-email"]
    for command in listed:
        explained = subprocess.run([sys.executable, "-m", "hxauth.cli", command, "--help"], capture_output=True, text=True)
        assert explained.returncode == 0 and f"usage: hxauth {command}" in explained.stdout


def test_cleanup_removes_expired_sessions_and_old_rate_limit_records(database_url, capsys):
    import time

    async def seed():
        async with open_database(database_url) as db:
            await migrate(db)
            user = await create_user_in(db)
            now = int(time.time())
            for token, created, seen in (("old", 0, 0), ("idle", now, now - 8 * 24 * 3600), ("live", now, now)):
                await db.execute(
                    "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (:t, :u, :c, :s)",
                    {"t": token, "u": user, "c": created, "s": seen},
                )
            await db.execute("INSERT INTO rate_limit_hits (bucket, hit_at) VALUES ('b', 0), ('b', :now)", {"now": now})

    asyncio.run(seed())
    assert cli.main(["cleanup"]) == 0
    assert "removed 2 expired sessions, 1 old rate-limit records" in capsys.readouterr().out
    assert fetch_one(database_url, "SELECT token_hash FROM sessions")[0] == "live"

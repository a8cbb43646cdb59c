"""The `hxauth` command."""

import io
import sqlite3
import subprocess
import sys

import pytest

from hxauth import cli


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "cli-test-" + "c" * 40)
    monkeypatch.setenv("ARGON2_TIME_COST", "1")
    monkeypatch.setenv("ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("ARGON2_PARALLELISM", "1")
    return tmp_path / "cli.db"


def test_migrate_applies_then_has_nothing_to_do(database_url, capsys):
    assert cli.main(["migrate"]) == 0
    assert "applied 0001_create_users" in capsys.readouterr().out
    assert cli.main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    tables = {row[0] for row in sqlite3.connect(database_url).execute("SELECT name FROM sqlite_master")}
    assert {"users", "sessions", "schema_migrations"} <= tables


def test_create_user_reads_the_password_from_stdin_and_refuses_a_duplicate(database_url, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery staple\n"))
    assert cli.main(["create-user", "--name", "Ann", "--email", "Ann@Example.com", "--password-stdin"]) == 0
    assert "created user 1 <ann@example.com>" in capsys.readouterr().out
    row = sqlite3.connect(database_url).execute("SELECT name, email, password_hash FROM users").fetchone()
    assert row[:2] == ("Ann", "ann@example.com") and row[2].startswith("$argon2id$")
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
    monkeypatch.setattr(cli, "SQL", tmp_path)
    assert cli.main(["new-migration", "Add users: last login!"]) == 0
    assert (tmp_path / "migrations" / "0008_add_users_last_login.sql").exists()


def test_an_unreachable_database_is_a_clear_message(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////nonexistent/folder/x.db")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert cli.main(["migrate"]) == 1
    assert "cannot use the database" in capsys.readouterr().err


def test_help_explains_each_command():
    result = subprocess.run([sys.executable, "-m", "hxauth.cli", "--help"], capture_output=True, text=True, check=True)
    for command in ("migrate", "new-migration", "create-user"):
        assert command in result.stdout

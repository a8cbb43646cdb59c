"""Settings: a development secret made once, a required one in production."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hxauth import settings as settings_module
from hxauth.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "ENV", "DATABASE_URL", "DEBUG", "MAIL_URL", "BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(settings_module, "VAR", tmp_path / "var")
    return tmp_path


def test_development_generates_a_secret_once_and_keeps_it(clean_env):
    first = Settings.from_environ(env_file=clean_env / "none")
    second = Settings.from_environ(env_file=clean_env / "none")
    assert len(first.secret_key) >= 40 and first.secret_key == second.secret_key
    assert (clean_env / "var" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_requires_a_secret_key(clean_env, monkeypatch):
    monkeypatch.setenv("ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        Settings.from_environ(env_file=clean_env / "none")


@pytest.mark.parametrize("missing, message", [("MAIL_URL", "MAIL_URL is required"), ("BASE_URL", "BASE_URL is required")])
def test_production_requires_a_mail_server_and_the_sites_address(clean_env, monkeypatch, missing, message):
    values = {"ENV": "production", "SECRET_KEY": "s" * 40, "MAIL_URL": "smtp://mail.example:587", "BASE_URL": "https://hxauth.example"}
    for name, value in values.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        Settings.from_environ(env_file=clean_env / "none")


def test_development_links_point_at_localhost_and_a_trailing_slash_is_dropped(clean_env):
    assert Settings.from_environ(env_file=clean_env / "none").base_url == "http://localhost:8000"
    assert Settings(secret_key="s" * 40, base_url="https://hxauth.example/").base_url == "https://hxauth.example"


@pytest.mark.parametrize("setting", [
    {"base_url": "hxauth.example"}, {"base_url": "https://hxauth.example/accounts"}, {"base_url": "ftp://hxauth.example"},
    {"mail_url": "http://mail.example"}, {"mail_url": "smtp://"}, {"mail_url": "smtp://mail.example:port"},
])
def test_a_wrong_base_url_or_mail_url_is_a_clear_error(setting):
    with pytest.raises(ConfigError, match=next(iter(setting)).upper()):
        Settings(secret_key="s" * 40, **setting)


def test_settings_come_from_a_dotenv_file_and_the_environment_wins(clean_env, monkeypatch):
    (clean_env / ".env").write_text("PASSWORD_MIN_LENGTH=20\nSECRET_KEY=from-file\nDEBUG=true\n")
    monkeypatch.setenv("DEBUG", "false")
    loaded = Settings.from_environ(env_file=clean_env / ".env")
    assert (loaded.password_min_length, loaded.secret_key, loaded.debug) == (20, "from-file", False)


def test_a_bad_value_is_a_clear_error(clean_env, monkeypatch):
    monkeypatch.setenv("PASSWORD_MIN_LENGTH", "lots")
    with pytest.raises(ConfigError, match="PASSWORD_MIN_LENGTH"):
        Settings.from_environ(env_file=clean_env / "none")


def test_starting_in_production_without_a_secret_is_a_message_not_a_traceback():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | {"ENV": "production"}
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "SECRET_KEY is required" in result.stderr and "Traceback" not in result.stderr


def test_start_up_stops_with_a_message_when_the_database_never_answers():
    env = os.environ | {"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/test", "DATABASE_WAIT_SECONDS": "1", "SECRET_KEY": "x" * 40}
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app:app", "--port", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "cannot reach the database at postgresql://postgres@127.0.0.1:9/test after 1 s" in result.stderr


def test_the_test_session_gives_the_imported_app_its_own_secret_and_a_database_outside_the_checkout():
    """app.py builds an app from the environment when imported; from the shell's settings it would write var/secret_key."""
    import app as module
    from conftest import IMPORT_ENVIRONMENT

    imported = module.app.state.settings
    assert imported.secret_key == IMPORT_ENVIRONMENT["SECRET_KEY"]
    assert imported.database_url == IMPORT_ENVIRONMENT["DATABASE_URL"] and str(ROOT) not in imported.database_url


def test_the_link_settings_come_from_the_environment(clean_env, monkeypatch):
    monkeypatch.setenv("REQUIRE_CONFIRMED_EMAIL", "true")
    monkeypatch.setenv("RESET_PASSWORD_SECONDS", "600")
    loaded = Settings.from_environ(env_file=clean_env / "none")
    assert loaded.require_confirmed_email is True and loaded.reset_password_seconds == 600
    assert loaded.confirm_email_seconds == 7 * 24 * 3600
    monkeypatch.setenv("REQUIRE_CONFIRMED_EMAIL", "false")
    assert Settings.from_environ(env_file=clean_env / "none").require_confirmed_email is False


@pytest.mark.parametrize("name", ["RESET_PASSWORD_SECONDS", "CONFIRM_EMAIL_SECONDS"])
def test_a_link_lifetime_must_be_positive(clean_env, monkeypatch, name):
    monkeypatch.setenv(name, "0")
    with pytest.raises(ConfigError, match=name):
        Settings.from_environ(env_file=clean_env / "none")

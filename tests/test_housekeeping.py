"""Housekeeping: expired sessions and old rate-limit records go, from a task in the app or `hxauth cleanup`."""

import asyncio
import logging
import time

import pytest

from app import create_app
from conftest import create_user, make_settings, sqlite_only
from hxauth import housekeeping

DAY = 24 * 3600


async def add_session(app, token, created_at, last_seen_at, user_id):
    await app.state.db.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (:t, :u, :c, :s)",
        {"t": token, "u": user_id, "c": created_at, "s": last_seen_at},
    )


async def tokens(app) -> set:
    return {row["token_hash"] for row in await app.state.db.fetch_all("SELECT token_hash FROM sessions")}


async def eventually(condition, seconds=20):
    """Poll until `condition()` is true; fail (not hang) if it never is."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "it did not happen"
        await asyncio.sleep(0.02)


async def test_clean_up_removes_what_expired_keeps_what_lives_and_counts_both(app, monkeypatch):
    monkeypatch.setattr(housekeeping, "BATCH_SIZE", 2)  # several batches: the counts must add up
    monkeypatch.setattr(housekeeping, "PAUSE_SECONDS", 0)
    user_id, now, settings = await create_user(app), int(time.time()), app.state.settings
    for n in range(3):
        await add_session(app, f"too-old-{n}", now - settings.session_max_seconds - 1, now, user_id)
        await add_session(app, f"idle-{n}", now - DAY, now - settings.session_idle_seconds - 1, user_id)
    await add_session(app, "live", now - DAY, now - 60, user_id)
    longest = max(settings.login_account_window, settings.login_client_window, settings.signup_window)
    for hit_at in (0, now - longest - 1, now - longest - 1, now - 10):
        await app.state.db.execute("INSERT INTO rate_limit_hits (bucket, hit_at) VALUES ('login:x', :t)", {"t": hit_at})

    removed = await housekeeping.clean_up(app.state)
    assert (removed["expired sessions"], removed["old rate-limit records"]) == (6, 3)
    assert await tokens(app) == {"live"}
    assert await app.state.db.fetch_val("SELECT hit_at FROM rate_limit_hits") == now - 10
    assert set((await housekeeping.clean_up(app.state)).values()) == {0}


@sqlite_only
@pytest.mark.parametrize("query", ["delete_expired_sessions", "delete_old_rate_limit_hits", "delete_expired_email_tokens", "delete_old_outbox_messages"])
async def test_the_cleanup_deletes_use_indexes_not_a_full_scan(app, query):
    query = getattr(app.state.queries, query)
    values = {name: 1 for name in query.parameters}
    plan = [row[3] for row in await app.state.db.fetch_all("EXPLAIN QUERY PLAN " + query.sql, values)]
    assert plan and not [step for step in plan if step.startswith("SCAN")], plan


def cleanup_tasks():
    return [task for task in asyncio.all_tasks() if task.get_name() == "hxauth cleanup"]


async def test_the_app_cleans_up_on_its_interval_and_stops_at_shutdown(tmp_path):
    app = create_app(make_settings(tmp_path, cleanup_interval_seconds=0.05))
    async with app.router.lifespan_context(app):
        user_id, now = await create_user(app), int(time.time())
        await add_session(app, "expired", 0, 0, user_id)
        await add_session(app, "live", now, now, user_id)
        await eventually(lambda: _gone(app, "expired"))
        assert "live" in await tokens(app)
        assert len(cleanup_tasks()) == 1
    assert cleanup_tasks() == []


async def _gone(app, token):
    return token not in await tokens(app)


async def test_a_failing_cleanup_is_logged_and_the_next_one_still_runs(tmp_path, caplog):
    app = create_app(make_settings(tmp_path, cleanup_interval_seconds=0.05))
    async with app.router.lifespan_context(app):
        user_id = await create_user(app)
        await add_session(app, "expired", 0, 0, user_id)
        query = app.state.queries.delete_expired_sessions
        app.state.queries.delete_expired_sessions = "DELETE FROM no_such_table WHERE :created_before + :seen_before + :batch_size > 0"
        await eventually(lambda: _logged(caplog, "cleanup failed"))
        assert "expired" in await tokens(app)
        app.state.queries.delete_expired_sessions = query
        await eventually(lambda: _gone(app, "expired"))


async def _logged(caplog, text):
    return any(text in record.getMessage() and record.levelno == logging.ERROR for record in caplog.records)


async def test_an_interval_of_0_runs_no_cleanup_task(tmp_path):
    app = create_app(make_settings(tmp_path, cleanup_interval_seconds=0))
    async with app.router.lifespan_context(app):
        assert cleanup_tasks() == []


def test_the_interval_comes_from_the_environment_and_cannot_be_negative(tmp_path, monkeypatch):
    from hxauth.settings import ConfigError, Settings

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("CLEANUP_INTERVAL_SECONDS", "600")
    assert Settings.from_environ(tmp_path / "no.env").cleanup_interval_seconds == 600
    monkeypatch.setenv("CLEANUP_INTERVAL_SECONDS", "-1")
    with pytest.raises(ConfigError, match="CLEANUP_INTERVAL_SECONDS"):
        Settings.from_environ(tmp_path / "no.env")


async def test_clean_up_removes_expired_links_and_keeps_live_ones(make_app):
    from conftest import make_client, submit

    app = await make_app(reset_password_seconds=1)
    await create_user(app)  # its confirmation link lives 7 days
    async with make_client(app) as client:
        await submit(client, "/accounts/reset-password", {"email": "ann@example.com"})
    assert await app.state.db.fetch_val("SELECT count(*) FROM email_tokens") == 2
    await asyncio.sleep(1.1)
    assert (await housekeeping.clean_up(app.state))["expired links"] == 1
    assert await app.state.db.fetch_val("SELECT purpose FROM email_tokens") == "confirm"

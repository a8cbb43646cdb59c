"""Rate limits: what counts against a limit, what a refused attempt costs, and parallel attempts over real uvicorn."""

import asyncio

import httpx

from app import create_app
from conftest import (
    CSRF_FIELD, PASSWORD, create_user, csrf_token, database_url, log_in, make_client, make_settings, migrate_up_to, running_server,
)
from hxauth import rate_limits
from hxauth.database import open_database


async def log_out(client):
    token = await csrf_token(client, "/accounts/logout")
    await client.post("/accounts/logout", data={"csrf_token": token})


async def test_successful_logins_do_not_count_against_the_per_client_limit(tmp_path):
    """Many people behind one address (an office, a school) log in all day: only failures are limited."""
    app = create_app(make_settings(tmp_path, login_client_limit=2))
    async with app.router.lifespan_context(app), make_client(app) as client:
        await create_user(app)
        for _ in range(3):
            assert (await log_in(client)).status_code == 303
            await log_out(client)
        # From the same address, a browser without this one's device cookie (held to its own limit: test_devices.py).
        async with make_client(app) as other:
            for _ in range(2):
                assert (await log_in(other, password="wrong password here")).status_code == 422
            assert (await log_in(other)).status_code == 429


async def test_retrying_during_a_lockout_does_not_extend_it(tmp_path):
    app = create_app(make_settings(tmp_path, login_account_limit=2))
    async with app.router.lifespan_context(app), make_client(app) as client:
        await create_user(app)
        for _ in range(2):
            assert (await log_in(client, password="wrong password here")).status_code == 422
        for _ in range(3):
            assert (await log_in(client, password="wrong password here")).status_code == 429
        # The window passes for the two failures that were tried: the owner gets in.
        window = app.state.settings.login_account_window
        await app.state.db.execute("UPDATE rate_limit_hits SET hit_at = hit_at - :w", {"w": window})
        assert (await log_in(client)).status_code == 303


async def test_refused_signups_do_not_count_either(tmp_path):
    app = create_app(make_settings(tmp_path, signup_limit=1))
    async with app.router.lifespan_context(app), make_client(app) as client:
        statuses = []
        for number in range(3):
            token = await csrf_token(client, "/accounts/signup")
            data = {"csrf_token": token, "name": "Ann", "email": f"ann{number}@example.com", "password": PASSWORD}
            statuses.append((await client.post("/accounts/signup", data=data)).status_code)
        assert statuses == [303, 429, 429]
        assert await app.state.db.fetch_val("SELECT count(*) FROM rate_limit_hits") == 1


async def test_taking_back_a_hit_that_is_gone_already_takes_back_no_other(app):
    """A successful login clears its bucket, hits of concurrent attempts included, which each take their own back
    by id later: that id must not belong to another attempt's hit since (SQLite reused rowids before 0011)."""
    state = app.state
    guess = await rate_limits.attempt(state.db, state.queries, [rate_limits.Limit("login:owner", 5, 60)])
    await rate_limits.clear(state.db, state.queries, rate_limits.Limit("login:owner", 5, 60))
    other = await rate_limits.attempt(state.db, state.queries, [rate_limits.Limit("email-change:1", 5, 60)])
    await rate_limits.forget(state.db, state.queries, guess.hit_ids)
    assert other.hit_ids != guess.hit_ids
    assert await state.db.fetch_val("SELECT count(*) FROM rate_limit_hits WHERE bucket = 'email-change:1'") == 1


async def _posts_at_once(server, path, forms):
    """Each form from its own browser (own cookies, own CSRF token), all posted at the same moment."""
    browsers = [httpx.AsyncClient(base_url=server, timeout=60) for _ in forms]
    try:
        tokens = [CSRF_FIELD.search((await browser.get(path)).text).group(1) for browser in browsers]
        posts = [browser.post(path, data={"csrf_token": token, **form}) for browser, token, form in zip(browsers, tokens, forms)]
        return await asyncio.gather(*posts)
    finally:
        for browser in browsers:
            await browser.aclose()


# A real Argon2 cost, so that guesses are still being verified while the others arrive.
SLOW_ARGON2 = {"argon2_time_cost": 2, "argon2_memory_kib": 16384}
# The burst is to reach the limits themselves, not the share of hashing one client may hold (test_fair_hashing.py).
ANY_SHARE = {"hash_per_client": 1000, "hash_queue_limit": 1000}


async def test_20_concurrent_wrong_passwords_for_one_account_get_at_most_the_limit_of_tries(tmp_path):
    with running_server(tmp_path, signup_limit=1000, **SLOW_ARGON2, **ANY_SHARE) as server:
        [signup] = await _posts_at_once(server, "/accounts/signup", [{"name": "Ann", "email": "ann@example.com", "password": PASSWORD}])
        assert signup.status_code == 303
        guesses = [{"email": "ann@example.com", "password": f"wrong guess number {i}"} for i in range(20)]
        responses = await _posts_at_once(server, "/accounts/login", guesses)
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {422, 429}
        assert statuses.count(422) <= 5  # LOGIN_ACCOUNT_LIMIT: parallel guesses are counted before they are checked
        assert all(r.headers["retry-after"] for r in responses if r.status_code == 429)
        # Five guesses in all: the refused ones were not counted, the tried ones were.
        for _ in range(5 - statuses.count(422)):
            [guess] = await _posts_at_once(server, "/accounts/login", guesses[:1])
            assert guess.status_code == 422
        [late] = await _posts_at_once(server, "/accounts/login", [{"email": "ann@example.com", "password": PASSWORD}])
        assert late.status_code == 429


async def test_10_concurrent_signups_from_one_address_make_at_most_the_limit_of_accounts(tmp_path):
    with running_server(tmp_path, signup_limit=3, **SLOW_ARGON2, **ANY_SHARE) as server:
        forms = [{"name": f"User {i}", "email": f"user{i}@example.com", "password": PASSWORD} for i in range(10)]
        responses = await _posts_at_once(server, "/accounts/signup", forms)
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {303, 429}
        assert statuses.count(303) <= 3
        async with open_database(database_url(tmp_path)) as db:
            assert await db.fetch_val("SELECT count(*) FROM users") == statuses.count(303)


async def test_migration_0011_keeps_the_hits_counted_before_it(tmp_path):
    """SQLite's table is made anew (PostgreSQL's is left as it is): the hits of a live database stay, ids and all."""
    from hxauth.migrations import migrate

    async with open_database(database_url(tmp_path)) as db:
        await migrate_up_to(db, tmp_path, "0011")
        for hit_at in (10, 20, 30):
            await db.execute("INSERT INTO rate_limit_hits (bucket, hit_at) VALUES ('login:x', :t)", {"t": hit_at})
        kept = [tuple(row) for row in await db.fetch_all("SELECT id, bucket, hit_at FROM rate_limit_hits ORDER BY id")]
        assert "0011_rate_limit_hit_ids_never_reused" in await migrate(db)
        assert [tuple(row) for row in await db.fetch_all("SELECT id, bucket, hit_at FROM rate_limit_hits ORDER BY id")] == kept
        await db.execute("DELETE FROM rate_limit_hits WHERE id = :id", {"id": kept[-1][0]})
        new_id = await db.fetch_val("INSERT INTO rate_limit_hits (bucket, hit_at) VALUES ('login:y', 40) RETURNING id")
        assert new_id > kept[-1][0]

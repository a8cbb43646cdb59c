"""Concurrent posts over real HTTP against uvicorn: signups none lost, no duplicates, no "database is locked";
parallel logins and signups from one address held to their rate limits."""

import asyncio

import httpx

from conftest import CSRF_FIELD, PASSWORD, database_url, running_server
from hxauth.database import open_database

LIMITS = {"signup_limit": 1000}


async def signups(server, emails):
    async with httpx.AsyncClient(base_url=server, timeout=60) as browser:
        token = CSRF_FIELD.search((await browser.get("/accounts/signup")).text).group(1)
        posts = [
            browser.post("/accounts/signup", data={"csrf_token": token, "name": f"User {i}", "email": email, "password": PASSWORD})
            for i, email in enumerate(emails)
        ]
        return await asyncio.gather(*posts)


async def test_40_concurrent_signups_with_distinct_emails_all_succeed(tmp_path):
    with running_server(tmp_path, **LIMITS) as server:
        responses = await signups(server, [f"user{i}@example.com" for i in range(40)])
        assert [r.status_code for r in responses] == [303] * 40
        async with httpx.AsyncClient(base_url=server) as browser:
            token = CSRF_FIELD.search((await browser.get("/accounts/signup")).text).group(1)
            retry = await browser.post("/accounts/signup", data={"csrf_token": token, "name": "X", "email": "USER7@example.com", "password": PASSWORD})
            assert retry.status_code == 409  # each of the 40 really exists


async def test_20_concurrent_signups_with_one_email_make_exactly_one_account(tmp_path):
    with running_server(tmp_path, **LIMITS) as server:
        responses = await signups(server, ["same@example.com"] * 10 + ["SAME@example.com "] * 10)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [303] + [409] * 19
        assert all("locked" not in r.text for r in responses)


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


async def test_20_concurrent_wrong_passwords_for_one_account_get_at_most_the_limit_of_tries(tmp_path):
    with running_server(tmp_path, **LIMITS, **SLOW_ARGON2) as server:
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
    with running_server(tmp_path, signup_limit=3, **SLOW_ARGON2) as server:
        forms = [{"name": f"User {i}", "email": f"user{i}@example.com", "password": PASSWORD} for i in range(10)]
        responses = await _posts_at_once(server, "/accounts/signup", forms)
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {303, 429}
        assert statuses.count(303) <= 3
        async with open_database(database_url(tmp_path)) as db:
            assert await db.fetch_val("SELECT count(*) FROM users") == statuses.count(303)

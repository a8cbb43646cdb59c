"""Concurrent signups over real HTTP against uvicorn: none lost, no duplicates, no "database is locked"."""

import asyncio

import httpx

from conftest import PASSWORD, csrf_token, running_server, submit

LIMITS = {"signup_limit": 1000, "hash_per_client": 1000}  # one browser, many tabs: no per-client share either


async def signups(server, emails):
    async with httpx.AsyncClient(base_url=server, timeout=60) as browser:
        token = await csrf_token(browser, "/accounts/signup")  # one browser, one token, many tabs posting at once
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
            retry = await submit(browser, "/accounts/signup", {"name": "X", "email": "USER7@example.com", "password": PASSWORD})
            assert retry.status_code == 409  # each of the 40 really exists


async def test_20_concurrent_signups_with_one_email_make_exactly_one_account(tmp_path):
    with running_server(tmp_path, **LIMITS) as server:
        responses = await signups(server, ["same@example.com"] * 10 + ["SAME@example.com "] * 10)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [303] + [409] * 19
        assert all("locked" not in r.text for r in responses)

"""Several app instances on one database share sessions and rate limits (PostgreSQL in production)."""

import httpx

from conftest import create_user, log_in, running_server, submit


async def test_two_instances_share_sessions_logouts_and_login_limits(tmp_path):
    limits = {"login_account_limit": 4, "login_device_limit": 4}
    with running_server(tmp_path, **limits) as first, running_server(tmp_path, **limits) as second:
        await create_user(first)  # Ann, on the database both instances use
        async with httpx.AsyncClient(base_url=first) as one, httpx.AsyncClient(base_url=second) as two:
            # A session made through the first instance is valid on the second.
            assert (await log_in(one)).status_code == 303
            two.cookies.set("session", one.cookies["session"])
            assert "Hi Ann!" in (await two.get("/")).text

            # Logging out through the second revokes it on the first.
            assert (await submit(two, "/accounts/logout")).status_code == 303
            assert "You are not logged in" in (await one.get("/")).text

            # Failed logins through both count against one limit (here the device cookie's the login gave).
            two.cookies.set("device", one.cookies["device"])
            for browser in (one, two, one, two):
                assert (await log_in(browser, password="wrong password here")).status_code == 422
            assert (await log_in(one)).status_code == 429

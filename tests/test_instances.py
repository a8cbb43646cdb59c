"""Several app instances on one database share sessions and rate limits (PostgreSQL in production)."""

import httpx

from conftest import CSRF_FIELD, PASSWORD, running_server


async def form_token(browser, path):
    return CSRF_FIELD.search((await browser.get(path)).text).group(1)


async def test_two_instances_share_sessions_logouts_and_login_limits(tmp_path):
    with running_server(tmp_path, login_account_limit=4) as first, running_server(tmp_path, login_account_limit=4) as second:
        async with httpx.AsyncClient(base_url=first) as one, httpx.AsyncClient(base_url=second) as two:
            token = await form_token(one, "/accounts/signup")
            data = {"csrf_token": token, "name": "Ann", "email": "ann@example.com", "password": PASSWORD}
            assert (await one.post("/accounts/signup", data=data)).status_code == 303

            # A session made through the first instance is valid on the second.
            token = await form_token(one, "/accounts/login")
            await one.post("/accounts/login", data={"csrf_token": token, "email": "ann@example.com", "password": PASSWORD})
            two.cookies.set("session", one.cookies["session"])
            assert "Hi Ann!" in (await two.get("/")).text

            # Logging out through the second revokes it on the first.
            token = await form_token(two, "/accounts/logout")
            assert (await two.post("/accounts/logout", data={"csrf_token": token})).status_code == 303
            assert "You are not logged in" in (await one.get("/")).text

            # Failed logins through both count against one limit.
            wrong = {"email": "ann@example.com", "password": "wrong password here"}
            for browser in (one, two, one, two):
                token = await form_token(browser, "/accounts/login")
                assert (await browser.post("/accounts/login", data={"csrf_token": token, **wrong})).status_code == 422
            token = await form_token(one, "/accounts/login")
            response = await one.post("/accounts/login", data={"csrf_token": token, "email": "ann@example.com", "password": PASSWORD})
            assert response.status_code == 429

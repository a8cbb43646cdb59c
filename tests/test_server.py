"""The real thing: `uvicorn app:app` over a real socket."""

import httpx

from conftest import PASSWORD, log_in, submit


async def test_signup_login_logout_over_real_http(server):
    async with httpx.AsyncClient(base_url=server) as browser:
        data = {"name": "Real <Person>", "email": "real@example.com", "password": PASSWORD}
        response = await submit(browser, "/accounts/signup", data)
        assert response.status_code == 303 and response.headers["location"] == "/accounts/login"

        login_page = await browser.get("/accounts/login")
        assert "Your account is ready" in login_page.text
        response = await log_in(browser, email="real@example.com")
        assert response.status_code == 303

        home = await browser.get("/")
        assert "Hi Real &lt;Person&gt;!" in home.text
        stolen = browser.cookies["session"]

        response = await submit(browser, "/accounts/logout")
        assert response.status_code == 303
        assert "You are not logged in" in (await browser.get("/")).text

    async with httpx.AsyncClient(base_url=server, cookies={"session": stolen}) as replay:
        assert "You are not logged in" in (await replay.get("/")).text


async def test_htmx_is_served_and_pages_load_it_from_this_site(server):
    async with httpx.AsyncClient(base_url=server) as browser:
        home = await browser.get("/")
        assert '<script src="/static/htmx/htmx.min.js"' in home.text
        script = await browser.get("/static/htmx/htmx.min.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]

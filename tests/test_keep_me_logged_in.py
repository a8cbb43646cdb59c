""""Keep me logged in": unchecked, a cookie that ends with the browser and the idle expiry; checked, a
persistent cookie for SESSION_MAX_SECONDS. Both keep the absolute expiry."""

import time

from conftest import HX, create_user, log_in, make_client, submit


def session_cookie(response) -> str:
    cookies = [value for name, value in response.headers.multi_items() if name == "set-cookie" and value.startswith("session=")]
    assert len(cookies) == 1, cookies
    return cookies[0]


async def test_the_login_form_has_the_checkbox_and_keeps_it_after_a_mistake(client, user):
    page = await client.get("/accounts/login")
    assert 'name="remember" type="checkbox" value="yes">' in page.text and "Keep me logged in</label>" in page.text
    response = await log_in(client, password="wrong password here", remember="yes", headers=HX)
    assert response.status_code == 422 and 'name="remember" type="checkbox" value="yes" checked>' in response.text


async def test_unchecked_the_cookie_has_no_max_age_and_ends_with_the_browser(client, user, app):
    response = await log_in(client)
    cookie = session_cookie(response)
    assert "max-age" not in cookie.lower() and "expires" not in cookie.lower()
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert await app.state.db.fetch_val("SELECT persistent FROM sessions") == 0
    assert "Hi Ann!" in (await client.get("/")).text


async def test_checked_the_cookie_lasts_session_max_seconds(client, user, app):
    response = await log_in(client, remember="yes")
    cookie = session_cookie(response)
    assert f"Max-Age={app.state.settings.session_max_seconds};" in cookie
    assert await app.state.db.fetch_val("SELECT persistent FROM sessions") == 1
    assert "Hi Ann!" in (await client.get("/")).text


async def test_over_https_both_kinds_keep_secure_and_the_host_prefix(app, user):
    for remember, max_age in ((None, False), ("yes", True)):
        async with make_client(app, base_url="https://testserver") as client:
            response = await log_in(client, remember=remember)
            cookie = next(v for n, v in response.headers.multi_items() if n == "set-cookie" and v.startswith("__Host-session="))
            assert "secure" in cookie.lower() and ("Max-Age=" in cookie) == max_age


async def test_an_anonymous_visitors_cookie_ends_with_the_browser_and_logout_still_empties_it(client, user):
    page = await client.get("/accounts/login")
    assert "max-age" not in session_cookie(page).lower()
    await log_in(client, remember="yes")
    response = await submit(client, "/accounts/logout")
    assert "session=null" in session_cookie(response) and "expires=thu, 01 jan 1970" in session_cookie(response).lower()


async def test_only_a_session_not_kept_logged_in_ends_when_idle_and_both_end_at_the_absolute_expiry(make_app):
    app = await make_app(session_idle_seconds=600)
    await create_user(app)
    async with make_client(app) as browser_only, make_client(app) as kept:
        await log_in(browser_only)
        await log_in(kept, remember="yes")
        await app.state.db.execute("UPDATE sessions SET last_seen_at = :t", {"t": int(time.time()) - 601})
        assert "You are not logged in" in (await browser_only.get("/")).text
        assert "Hi Ann!" in (await kept.get("/")).text
        age = app.state.settings.session_max_seconds + 1
        await app.state.db.execute("UPDATE sessions SET created_at = created_at - :age", {"age": age})
        assert "You are not logged in" in (await kept.get("/")).text


async def test_the_cleanup_keeps_an_idle_session_that_is_kept_logged_in(make_app):
    from hxauth import housekeeping

    app = await make_app(session_idle_seconds=600)
    await create_user(app)
    async with make_client(app) as browser_only, make_client(app) as kept:
        await log_in(browser_only)
        await log_in(kept, remember="yes")
    await app.state.db.execute("UPDATE sessions SET last_seen_at = :t", {"t": int(time.time()) - 601})
    assert (await housekeeping.clean_up(app.state))["expired sessions"] == 1
    assert await app.state.db.fetch_val("SELECT persistent FROM sessions") == 1

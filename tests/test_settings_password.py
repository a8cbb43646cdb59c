"""Settings, Password: the current one and a new one; every other session ends, this browser gets a new token."""

import httpx
import pytest

from conftest import HX, PASSWORD, create_user, link_in, log_in, make_client, running_server, submit, text_of

PAGE = "/accounts/settings"
SIGNUP = "Confirm your email address for hxauth"  # the confirmation every new account is sent

NEW_PASSWORD = "a brand new passphrase for ann"


async def change_password(client, current=PASSWORD, new=NEW_PASSWORD, headers=None):
    data = {"current_password": current, "new_password": new}
    return await submit(client, PAGE, data, action=f"{PAGE}/password", headers=headers)


@pytest.mark.parametrize("headers", [None, HX], ids=["plain", "htmx"])
async def test_a_new_password_ends_every_other_session_renews_this_one_and_sends_a_message(smtp_server, make_app, headers):
    app = await make_app(mail_url=smtp_server.url)
    await create_user(app)
    async with make_client(app) as browser, make_client(app) as other:
        await log_in(browser, remember="yes")
        await log_in(other)
        old_cookie = browser.cookies["session"]
        response = await change_password(browser, headers=headers)
        # The whole page comes back (for htmx through HX-Location): every form's CSRF token changed.
        assert response.status_code == (200 if headers else 303)
        assert (response.headers.get("hx-location") if headers else response.headers["location"]) == PAGE
        assert "Max-Age=" in next(v for n, v in response.headers.multi_items() if n == "set-cookie" and v.startswith("session="))
        assert browser.cookies["session"] != old_cookie
        page = await browser.get(PAGE)
        assert "Your password is changed, and every other session is logged out." in page.text
        assert "You are not logged in" in (await other.get("/")).text
        assert await app.state.db.fetch_val("SELECT count(*) FROM sessions") == 1
        assert await app.state.db.fetch_val("SELECT persistent FROM sessions") == 1  # still kept logged in

    async with make_client(app) as stolen:  # a copy of the old cookie is anonymous
        stolen.cookies.set("session", old_cookie)
        assert "You are not logged in" in (await stolen.get("/")).text
    async with make_client(app) as again:
        assert (await log_in(again)).status_code == 422
        assert (await log_in(again, password=NEW_PASSWORD)).status_code == 303
    message = await smtp_server.next_message(to="ann@example.com", subject="Your hxauth password was changed")
    assert "every other" in text_of(message) and link_in(message) == "http://localhost:8000/accounts/reset-password"


@pytest.mark.parametrize("new, message", [
    ("short", "Use at least 15 characters"),
    ("ann@example.com", "too common or easy to guess"),
    ("1qaz2wsx3edc4rfv", "too common or easy to guess"),
    ("", "Use at least 15 characters"),
])
async def test_a_new_password_follows_the_signup_rules(logged_in, app, new, message):
    response = await change_password(logged_in, new=new, headers=HX)
    assert response.status_code == 422 and message in response.text and "<!DOCTYPE" not in response.text
    assert 'id="new-password-error"' in response.text and (not new or f'value="{new}"' not in response.text)  # never echoed
    assert await app.state.db.fetch_val("SELECT count(*) FROM outbox WHERE subject <> :signup", {"signup": SIGNUP}) == 0


async def test_a_missing_or_wrong_current_password_changes_nothing(logged_in, app):
    response = await change_password(logged_in, current=None, headers=HX)
    assert response.status_code == 422 and "Enter your current password." in response.text
    response = await change_password(logged_in, current="not the current one")
    assert response.status_code == 422 and "<!DOCTYPE" in response.text and "That is not your current password." in response.text
    assert 'id="password-current-password" name="current_password" type="password" value=""' in response.text
    async with make_client(app) as again:
        assert (await log_in(again)).status_code == 303


async def test_a_password_change_ends_the_other_sessions_on_a_second_instance_too(tmp_path):
    with running_server(tmp_path) as first, running_server(tmp_path) as second:
        await create_user(first)
        async with httpx.AsyncClient(base_url=first) as here, httpx.AsyncClient(base_url=second) as there:
            await log_in(here)
            await log_in(there)
            assert "Hi Ann!" in (await there.get("/")).text
            response = await change_password(here)
            assert response.status_code == 303
            assert "You are not logged in" in (await there.get("/")).text
            assert "Hi Ann!" in (await here.get("/")).text

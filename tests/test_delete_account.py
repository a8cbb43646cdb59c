"""Settings, Delete account: the password and an explicit confirmation; the user and everything of theirs go."""

import pytest

from conftest import HX, PASSWORD, create_user, log_in, make_client, submit, text_of
from hxauth import mail

PAGE = "/accounts/settings"
SIGNUP = "Confirm your email address for hxauth"  # the confirmation every new account is sent



async def delete(client, password=PASSWORD, confirm="yes", headers=None):
    return await submit(client, PAGE, {"current_password": password, "confirm": confirm}, action=f"{PAGE}/delete", headers=headers)


async def rows_of(app, user_id: int) -> dict[str, int]:
    """How many rows of each table belong to the user."""
    db, values = app.state.db, {"id": user_id}
    return {
        "users": await db.fetch_val("SELECT count(*) FROM users WHERE id = :id", values),
        "sessions": await db.fetch_val("SELECT count(*) FROM sessions WHERE user_id = :id", values),
        "email_changes": await db.fetch_val("SELECT count(*) FROM email_changes WHERE user_id = :id", values),
        "outbox": await db.fetch_val("SELECT count(*) FROM outbox WHERE user_id = :id", values),
        "email_tokens": await db.fetch_val("SELECT count(*) FROM email_tokens WHERE user_id = :id", values),
    }


@pytest.mark.parametrize("headers", [None, HX], ids=["plain", "htmx"])
async def test_deleting_removes_every_row_of_the_user_sends_goodbye_and_frees_the_email(smtp_server, make_app, headers):
    app = await make_app(mail_url=smtp_server.url)
    ann = await create_user(app)
    bob = await create_user(app, name="Bob", email="bob@example.com")
    async with make_client(app) as browser, make_client(app) as other, make_client(app) as bobs:
        await log_in(browser)
        await log_in(other, remember="yes")
        await log_in(bobs, email="bob@example.com")
        await submit(browser, PAGE, {"email": "next@example.com", "current_password": PASSWORD}, action=f"{PAGE}/email")
        await smtp_server.next_message(to="next@example.com")
        await mail.queue(app.state, to="ann@example.com", template="test", context={}, user_id=ann)  # say it is unsent
        await app.state.db.execute("UPDATE outbox SET sent_at = NULL, send_after = 9999999999 WHERE user_id = :id", {"id": ann})
        before = await rows_of(app, ann)
        assert before["users"] == 1 and before["sessions"] == 2 and before["email_changes"] == 1 and before["outbox"] >= 1
        assert before["email_tokens"] == 1  # the confirmation link of the signup
        bob_before = await rows_of(app, bob)

        response = await delete(browser, headers=headers)
        assert response.status_code == (200 if headers else 303)
        assert (response.headers.get("hx-location") if headers else response.headers["location"]) == "/"
        home = await browser.get("/")
        assert "You are not logged in" in home.text and "Your account and everything in it are deleted." in home.text
        assert "You are not logged in" in (await other.get("/")).text
        assert "Hi Bob!" in (await bobs.get("/")).text
        assert await rows_of(app, ann) == {"users": 0, "sessions": 0, "email_changes": 0, "outbox": 0, "email_tokens": 0}
        assert await rows_of(app, bob) == bob_before

        goodbye = await smtp_server.next_message(to="ann@example.com", subject="Your hxauth account was deleted")
        assert "sign up again" in text_of(goodbye)

        data = {"name": "Ann again", "email": "ann@example.com", "password": PASSWORD}
        assert (await submit(browser, "/accounts/signup", data)).status_code == 303
        assert (await log_in(browser)).status_code == 303
        assert "Hi Ann again!" in (await browser.get("/")).text


@pytest.mark.parametrize("password, confirm, message", [
    (PASSWORD, None, "Tick this box to confirm that the account should go."),
    (PASSWORD, "no", "Tick this box to confirm that the account should go."),
    (None, "yes", "Enter your current password."),
    ("not my password at all", "yes", "That is not your current password."),
])
async def test_without_the_password_and_the_confirmation_nothing_is_deleted(logged_in, app, password, confirm, message):
    for headers in (HX, None):
        response = await delete(logged_in, password=password, confirm=confirm, headers=headers)
        assert response.status_code == 422 and message in response.text
    assert ("<!DOCTYPE" in response.text) and 'id="delete-form"' in response.text
    assert (await rows_of(app, 1))["users"] == 1 and "Hi Ann!" in (await logged_in.get("/")).text
    assert await app.state.db.fetch_val("SELECT count(*) FROM outbox WHERE subject <> :signup", {"signup": SIGNUP}) == 0


async def test_wrong_passwords_at_deletion_count_towards_the_login_limit(make_app):
    app = await make_app(login_device_limit=2)  # the logged-in browser holds a device cookie (hxauth.devices)
    await create_user(app)
    async with make_client(app) as client:
        await log_in(client)
        for _ in range(2):
            assert (await delete(client, password="a wrong guess here")).status_code == 422
        response = await delete(client, headers=HX)
        assert response.status_code == 429 and "retry-after" in response.headers
    assert (await rows_of(app, 1))["users"] == 1

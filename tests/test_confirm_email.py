"""/accounts/confirm: the link mailed at signup, its button, "Send the link again", and REQUIRE_CONFIRMED_EMAIL."""

import asyncio
import json
import logging

import pytest

from conftest import HX, PASSWORD, count, create_user, csrf_token, link_sent, log_in, make_client, messages_to, submit


async def confirmed(app, email="ann@example.com") -> bool:
    return await count(app, "SELECT count(*) FROM users WHERE email = :e AND confirmed_at IS NOT NULL", {"e": email}) == 1


async def press_confirm(client, link, headers=None):
    """Open the link and press "Confirm my email"."""
    return await submit(client, link, action=link, headers=headers)


async def post_confirm(client, link, headers=None):
    """Post to `link` whatever its page shows (a dead link's page has no confirm form)."""
    return await client.post(link, data={"csrf_token": await csrf_token(client)}, headers=headers)


async def send_again(client, headers=None):
    return await submit(client, "/", action="/accounts/confirm", headers=headers)


async def test_signup_mails_a_confirmation_link_and_the_account_starts_unconfirmed(client, app):
    data = {"name": "Bob", "email": "bob@example.com", "password": PASSWORD}
    assert (await submit(client, "/accounts/signup", data)).status_code == 303
    [message] = await messages_to(app, "bob@example.com")
    assert message["subject"] == "Confirm your email address for hxauth"
    assert "If it was not you" in message["text"]
    assert (await link_sent(app, "bob@example.com", "confirm")).startswith("/accounts/confirm/")
    assert not await confirmed(app, "bob@example.com")


async def test_opening_the_link_changes_nothing_the_button_confirms(client, app, user):
    link = await link_sent(app, "ann@example.com", "confirm")
    for _ in range(2):  # a mail scanner's prefetch, then the person
        page = await client.get(link)
        assert page.status_code == 200 and "Confirm my email</button" in page.text.replace(' <span class="spinner" aria-hidden="true"></span>', "")
        assert "ann@example.com" in page.text and page.headers["referrer-policy"] == "no-referrer"
    assert not await confirmed(app)
    response = await press_confirm(client, link)
    assert response.status_code == 303 and response.headers["location"] == "/accounts/login"
    assert "Your email address is confirmed. Log in to continue." in (await client.get("/accounts/login")).text
    assert await confirmed(app)


async def test_a_logged_in_user_goes_home_with_a_flash(logged_in, app):
    link = await link_sent(app, "ann@example.com", "confirm")
    response = await press_confirm(logged_in, link)
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = await logged_in.get("/")
    assert "Your email address is confirmed." in home.text and "Send the link again" not in home.text


async def test_htmx_confirmation_answers_with_hx_location(client, app, user):
    link = await link_sent(app, "ann@example.com", "confirm")
    partial = await client.get(link, headers=HX)
    assert "<html" not in partial.text and 'id="confirm-form"' in partial.text
    response = await press_confirm(client, link, headers=HX)
    assert response.status_code == 200 and response.headers["hx-location"] == "/accounts/login"
    assert await confirmed(app)


async def test_a_link_works_once_and_its_dead_page_offers_a_new_one(client, app, user):
    link = await link_sent(app, "ann@example.com", "confirm")
    await press_confirm(client, link)
    again = await client.get(link)
    assert again.status_code == 404 and "This link does not work" in again.text
    assert 'href="/accounts/login"' in again.text and "offer to send you a new confirmation link" in again.text
    assert (await post_confirm(client, link)).status_code == 404


async def test_the_dead_link_page_of_an_unconfirmed_user_has_a_send_button(logged_in, app):
    response = await logged_in.get("/accounts/confirm/" + "z" * 43)
    assert response.status_code == 404 and 'action="/accounts/confirm"' in response.text and "Send me a new link" in response.text


async def test_a_link_expires(make_app):
    app = await make_app(confirm_email_seconds=1)
    await create_user(app)
    link = await link_sent(app, "ann@example.com", "confirm")
    async with make_client(app) as client:
        assert (await client.get(link)).status_code == 200
        await asyncio.sleep(1.1)
        assert (await client.get(link)).status_code == 404
        assert (await post_confirm(client, link)).status_code == 404
    assert not await confirmed(app)


async def test_a_link_is_void_once_the_email_changed(client, app, user):
    link = await link_sent(app, "ann@example.com", "confirm")
    await app.state.db.execute("UPDATE users SET email = 'ann@new.example' WHERE id = :id", {"id": user["id"]})
    assert (await client.get(link)).status_code == 404
    assert (await post_confirm(client, link)).status_code == 404
    assert not await confirmed(app, "ann@new.example")


async def test_a_link_confirms_its_own_user_only(logged_in, app):
    """Ann, logged in, follows Bob's link: Bob's address is confirmed (the link proved it), Ann's is not."""
    await create_user(app, name="Bob", email="bob@example.com")
    bobs = await link_sent(app, "bob@example.com", "confirm")
    assert (await press_confirm(logged_in, bobs)).status_code == 303
    assert await confirmed(app, "bob@example.com") and not await confirmed(app, "ann@example.com")
    assert "Send the link again" in (await logged_in.get("/")).text


@pytest.mark.parametrize("token", ["x", "a" * 43 + "!", "%00" * 10, "ü" * 43, "a" * 5000, "' OR 1=1 --"])
async def test_a_token_of_any_shape_is_a_404_page_not_a_500(client, token):
    response = await client.get(f"/accounts/confirm/{token}")
    assert response.status_code == 404 and "This link does not work" in response.text
    assert (await post_confirm(client, f"/accounts/confirm/{token}", headers=HX)).status_code == 404


async def test_the_home_page_asks_an_unconfirmed_user_to_confirm(logged_in, app):
    home = await logged_in.get("/")
    assert "Please confirm your email address" in home.text and 'action="/accounts/confirm"' in home.text
    await press_confirm(logged_in, await link_sent(app, "ann@example.com", "confirm"))
    assert "Please confirm your email address" not in (await logged_in.get("/")).text


async def test_send_the_link_again_plain_and_with_htmx(logged_in, app):
    first = await link_sent(app, "ann@example.com", "confirm")
    response = await send_again(logged_in)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "We sent a new confirmation link" in (await logged_in.get("/")).text
    second = await link_sent(app, "ann@example.com", "confirm")
    swapped = await send_again(logged_in, headers=HX)
    assert swapped.status_code == 200 and "<html" not in swapped.text
    assert 'id="confirm-notice"' in swapped.text and "We sent a new link to ann@example.com" in swapped.text
    third = await link_sent(app, "ann@example.com", "confirm")
    assert len({first, second, third}) == 3
    assert (await press_confirm(logged_in, first)).status_code == 303  # every link sent works, until one is used
    assert (await logged_in.get(third)).status_code == 404


async def test_send_the_link_again_is_limited(make_app):
    app = await make_app(confirm_resend_limit=2)
    await create_user(app)
    async with make_client(app) as client:
        await log_in(client)
        for _ in range(2):
            assert (await send_again(client, headers=HX)).status_code == 200
        limited = await send_again(client, headers=HX)
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 3600
        assert "We already sent several links" in limited.text and "<html" not in limited.text
    assert len(await messages_to(app, "ann@example.com")) == 3  # signup's and two more


async def test_send_again_sends_an_anonymous_visitor_to_log_in(client):
    response = await client.post("/accounts/confirm", data={"csrf_token": await csrf_token(client)})
    assert response.status_code == 303 and response.headers["location"] == "/accounts/login"


async def test_a_confirmed_user_has_nothing_to_send(logged_in, app):
    await press_confirm(logged_in, await link_sent(app, "ann@example.com", "confirm"))
    before = len(await messages_to(app, "ann@example.com"))
    response = await logged_in.post("/accounts/confirm", data={"csrf_token": await csrf_token(logged_in, "/")})
    assert response.status_code == 303 and len(await messages_to(app, "ann@example.com")) == before


async def test_by_default_an_unconfirmed_account_logs_in_at_once(client, user):
    assert (await log_in(client)).status_code == 303


async def test_require_confirmed_email_refuses_an_unconfirmed_login_after_the_right_password_only(make_app):
    app = await make_app(require_confirmed_email=True)
    await create_user(app)
    async with make_client(app) as client:
        wrong = await log_in(client, password="not the password at all", headers=HX)
        assert wrong.status_code == 422 and "Invalid email or password." in wrong.text
        assert len(await messages_to(app, "ann@example.com")) == 1  # signup's only

        refused = await log_in(client, headers=HX)
        assert refused.status_code == 403 and "<html" not in refused.text
        assert "Confirm your email address first: we sent a new link to ann@example.com" in refused.text
        assert 'id="login-form"' in refused.text
        assert "You are not logged in" in (await client.get("/")).text
        assert await count(app, "SELECT count(*) FROM sessions") == 0

        link = await link_sent(app, "ann@example.com", "confirm")
        assert len(await messages_to(app, "ann@example.com")) == 2
        await press_confirm(client, link)
        assert (await log_in(client)).status_code == 303


async def test_require_confirmed_email_sends_no_more_links_past_the_limit(make_app):
    app = await make_app(require_confirmed_email=True, confirm_resend_limit=1)
    await create_user(app)
    async with make_client(app) as client:
        assert (await log_in(client)).status_code == 403
        again = await log_in(client)
        assert again.status_code == 403 and "Check your spam folder" in again.text
    assert len(await messages_to(app, "ann@example.com")) == 2


async def test_confirmations_are_audited(logged_in, app, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    await send_again(logged_in)
    link = await link_sent(app, "ann@example.com", "confirm")
    await press_confirm(logged_in, link)
    await logged_in.get(link)
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "hxauth.audit"]
    assert [e["event"] for e in events] == ["confirm.sent", "confirm.confirmed", "confirm.refused"]
    audit_text = "\n".join(r.getMessage() for r in caplog.records if r.name == "hxauth.audit")
    assert link.rsplit("/", 1)[1] not in audit_text  # the token (development logs links in hxauth.mail's lines)


async def test_sign_up_and_confirm_over_real_smtp(make_app, smtp_server):
    from conftest import html_of, link_in

    app = await make_app(mail_url=smtp_server.url)
    async with make_client(app) as client:
        data = {"name": "Bob", "email": "bob@example.com", "password": PASSWORD}
        assert (await submit(client, "/accounts/signup", data, headers=HX)).status_code == 200
        message = await smtp_server.next_message(to="bob@example.com")
        assert message["Subject"] == "Confirm your email address for hxauth"
        link = link_in(message)
        assert link in html_of(message)
        path = link.removeprefix("http://localhost:8000")
        assert path.startswith("/accounts/confirm/")
        assert (await press_confirm(client, path, headers=HX)).headers["hx-location"] == "/accounts/login"
    assert await confirmed(app, "bob@example.com")


async def test_send_again_over_real_smtp_with_a_poisoned_host(make_app, smtp_server):
    from conftest import link_in

    app = await make_app(mail_url=smtp_server.url)
    await create_user(app)
    await smtp_server.next_message(to="ann@example.com")
    async with make_client(app, base_url="http://evil.example") as client:
        await log_in(client)
        assert (await send_again(client, headers=HX)).status_code == 200
    message = await smtp_server.next_message(to="ann@example.com")
    assert "evil.example" not in message.as_string()
    assert link_in(message).startswith("http://localhost:8000/accounts/confirm/")

"""/accounts/reset-password: "Forgot your password?", the link by mail, and the new password."""

import asyncio
import statistics
import time

import httpx
import pytest

from conftest import BOOSTED, HX, PASSWORD, count, create_user, link_sent, log_in, make_client, messages_to, submit

NEW_PASSWORD = "a brand new passphrase for ann"
SAME_ANSWER = "If an account exists for"


async def ask_for_reset(client, email="ann@example.com", headers=None):
    return await submit(client, "/accounts/reset-password", {"email": email}, action="/accounts/reset-password", headers=headers)


async def reset_link(client, app, email="ann@example.com") -> str:
    """Ask for a reset link for `email` and return its path, as the mail gives it."""
    assert (await ask_for_reset(client, email)).status_code == 200
    return await link_sent(app, email, "reset")


async def choose(client, link, password=NEW_PASSWORD, headers=None):
    """Fill in the link's new-password form and send it."""
    return await submit(client, link, {"password": password}, action=link, headers=headers)


async def post_new_password(client, link, password=NEW_PASSWORD, headers=None):
    """Send a new password to `link` whatever its page shows (a dead link's page has no form)."""
    return await client.post(link, data={"csrf_token": await csrf_from(client), "password": password}, headers=headers)


async def test_the_login_page_links_to_the_reset_form(client):
    login_page = await client.get("/accounts/login")
    assert '<a href="/accounts/reset-password">Forgot your password?</a>' in login_page.text
    form = await client.get("/accounts/reset-password")
    assert form.status_code == 200
    assert 'name="email"' in form.text and 'name="csrf_token"' in form.text and 'action="/accounts/reset-password"' in form.text


async def test_the_form_is_there_for_a_logged_in_user_too(logged_in):
    assert (await logged_in.get("/accounts/reset-password")).status_code == 200


async def test_an_existing_and_a_missing_account_get_the_same_answer(client, app, user):
    existing = await ask_for_reset(client, "ann@example.com", headers=HX)
    missing = await ask_for_reset(client, "nobody@example.com", headers=HX)
    assert existing.status_code == missing.status_code == 200
    assert SAME_ANSWER in existing.text
    assert existing.text.replace("ann@example.com", "@") == missing.text.replace("nobody@example.com", "@")
    assert "<html" not in existing.text
    assert [m["subject"] for m in await messages_to(app, "ann@example.com")][-1] == "Reset your hxauth password"
    assert await messages_to(app, "nobody@example.com") == []


async def test_the_email_is_matched_whatever_its_case_and_spaces(client, app, user):
    await ask_for_reset(client, "  ANN@Example.com ")
    assert await link_sent(app, "ann@example.com", "reset")


@pytest.mark.parametrize("email, message", [("", "Enter your email address."), ("ann@example", "Enter an email address like"), ("x" * 300, "at most 254")])
async def test_an_invalid_email_gets_422_in_place(client, app, email, message):
    response = await ask_for_reset(client, email, headers=HX)
    assert response.status_code == 422 and message in response.text
    assert 'id="email-error"' in response.text and "<html" not in response.text


async def test_a_missing_email_field_is_a_422_not_a_500(client):
    response = await submit(client, "/accounts/reset-password", {"email": None})
    assert response.status_code == 422


async def test_the_whole_reset_plain(client, app, user):
    link = await reset_link(client, app)
    form = await client.get(link)
    assert form.status_code == 200
    assert 'name="password"' in form.text and 'autocomplete="new-password"' in form.text
    assert "At least 15 characters" in form.text and "ann@example.com" in form.text
    response = await choose(client, link)
    assert response.status_code == 303 and response.headers["location"] == "/accounts/login"
    assert "Your password was changed" in (await client.get("/accounts/login")).text
    assert (await log_in(client, password=PASSWORD)).status_code == 422
    assert (await log_in(client, password=NEW_PASSWORD)).status_code == 303


async def test_the_whole_reset_with_htmx(client, app, user):
    response = await ask_for_reset(client, headers=HX)
    assert response.status_code == 200 and SAME_ANSWER in response.text and 'id="reset-form"' in response.text
    link = await link_sent(app, "ann@example.com", "reset")
    form = await client.get(link, headers=BOOSTED)
    assert form.text.startswith("<!DOCTYPE html>")
    partial = await client.get(link, headers=HX)
    assert "<html" not in partial.text and 'id="new-password-form"' in partial.text
    too_short = await choose(client, link, "short", headers=HX)
    assert too_short.status_code == 422 and "Use at least 15 characters" in too_short.text
    assert 'id="new-password-form"' in too_short.text and "<html" not in too_short.text
    done = await choose(client, link, headers=HX)
    assert done.status_code == 200 and done.headers["hx-location"] == "/accounts/login"
    assert (await log_in(client, password=NEW_PASSWORD)).status_code == 303


@pytest.mark.parametrize("password", ["annabelle@example.com", "ANNABELLE SMITH", "qwertyuiop12345"])
async def test_the_new_password_follows_the_signup_rules_with_the_users_name_and_email(make_app, password):
    app = await make_app(password_min_length=8)
    await create_user(app, name="Annabelle Smith", email="annabelle@example.com")
    async with make_client(app) as client:
        link = await reset_link(client, app, "annabelle@example.com")
        response = await choose(client, link, password)
        assert response.status_code == 422 and "too common or easy to guess" in response.text


async def test_the_new_password_is_never_echoed(client, app, user):
    link = await reset_link(client, app)
    response = await choose(client, link, "tooshort")
    assert response.status_code == 422 and "tooshort" not in response.text


async def test_a_link_works_once(client, app, user):
    link = await reset_link(client, app)
    assert (await choose(client, link)).status_code == 303
    again = await client.get(link)
    assert again.status_code == 404 and "This link does not work" in again.text
    assert 'href="/accounts/reset-password"' in again.text
    assert (await post_new_password(client, link, "another new passphrase")).status_code == 404
    assert (await log_in(client, password=NEW_PASSWORD)).status_code == 303


async def csrf_from(client):
    from conftest import csrf_token

    return await csrf_token(client, "/accounts/reset-password")


async def test_two_uses_at_once_cannot_both_win(app, user):
    async with make_client(app) as client:
        link = await reset_link(client, app)
        token = await csrf_from(client)
        first, second = await asyncio.gather(
            client.post(link, data={"csrf_token": token, "password": "first new passphrase here"}),
            client.post(link, data={"csrf_token": token, "password": "second new passphrase here"}),
        )
    assert sorted([first.status_code, second.status_code]) == [303, 404]
    assert await count(app, "SELECT count(*) FROM email_tokens WHERE purpose = 'reset'") == 0


async def test_a_link_expires(make_app):
    app = await make_app(reset_password_seconds=1)
    await create_user(app)
    async with make_client(app) as client:
        link = await reset_link(client, app)
        assert (await client.get(link)).status_code == 200
        await asyncio.sleep(1.1)
        assert (await client.get(link)).status_code == 404
        assert (await post_new_password(client, link)).status_code == 404
        assert (await log_in(client)).status_code == 303  # the old password stands


async def test_a_confirmation_link_does_not_reset_a_password(client, app, user):
    confirm = await link_sent(app, "ann@example.com", "confirm")
    token = confirm.rsplit("/", 1)[1]
    assert (await client.get(f"/accounts/reset-password/{token}")).status_code == 404
    reset = await reset_link(client, app)
    assert (await client.get("/accounts/confirm/" + reset.rsplit("/", 1)[1])).status_code == 404


async def test_a_reset_ends_every_other_reset_link_of_the_user(client, app, user):
    first = await reset_link(client, app)
    second = await reset_link(client, app)
    assert first != second
    assert (await choose(client, second)).status_code == 303
    assert (await client.get(first)).status_code == 404


async def test_a_link_is_void_once_the_email_changed(client, app, user):
    link = await reset_link(client, app)
    # No page changes the email yet (the settings issue adds one); the database does it here.
    await app.state.db.execute("UPDATE users SET email = 'ann@new.example' WHERE id = :id", {"id": user["id"]})
    assert (await client.get(link)).status_code == 404
    assert (await post_new_password(client, link)).status_code == 404


async def test_a_link_acts_on_its_own_user_only(app, user):
    """Bob, logged in, uses Ann's link: Ann's password changes; Bob's account and session are untouched."""
    await create_user(app, name="Bob", email="bob@example.com")
    async with make_client(app) as bob, make_client(app, client=("198.51.100.2", 1)) as other:
        assert (await log_in(bob, email="bob@example.com")).status_code == 303
        link = await reset_link(other, app)
        assert (await choose(bob, link)).status_code == 303
        assert "Hi Bob!" in (await bob.get("/")).text
        assert (await log_in(other, email="bob@example.com")).status_code == 303
    async with make_client(app) as ann:
        assert (await log_in(ann, password=NEW_PASSWORD)).status_code == 303


async def test_a_reset_logs_the_user_out_everywhere(app, user):
    async with make_client(app) as here, make_client(app, client=("198.51.100.3", 1)) as elsewhere:
        for browser in (here, elsewhere):
            assert (await log_in(browser)).status_code == 303
        link = await reset_link(here, app)
        assert (await choose(here, link)).status_code == 303
        for browser in (here, elsewhere):
            assert "You are not logged in" in (await browser.get("/")).text
    assert await count(app, "SELECT count(*) FROM sessions") == 0


async def test_a_reset_counts_the_address_as_confirmed_and_mails_the_user(client, app, user):
    assert await count(app, "SELECT count(*) FROM users WHERE confirmed_at IS NULL") == 1
    await choose(client, await reset_link(client, app))
    assert await count(app, "SELECT count(*) FROM users WHERE confirmed_at IS NULL") == 0
    changed = (await messages_to(app, "ann@example.com"))[-1]
    assert changed["subject"] == "Your hxauth password was changed"
    assert "If it was not you" in changed["text"] and "http://localhost:8000/accounts/reset-password" in changed["text"]


async def test_a_poisoned_host_header_never_reaches_the_link(app, user):
    async with make_client(app, base_url="http://evil.example") as client:
        response = await ask_for_reset(client)
        assert response.status_code == 200
    text = (await messages_to(app, "ann@example.com"))[-1]["text"]
    assert "evil.example" not in text
    assert "http://localhost:8000/accounts/reset-password/" in text


@pytest.mark.parametrize("token", ["x", "a" * 43 + "!", "%00" * 10, "ü" * 43, "a" * 5000, "' OR 1=1 --", "..%2f..%2fapp.py"])
async def test_a_token_of_any_shape_is_a_404_page_not_a_500(client, user, token):
    response = await client.get(f"/accounts/reset-password/{token}")
    assert response.status_code == 404
    assert ("This link does not work" if "%2f" not in token else "Page not found") in response.text  # a / is another path
    assert (await post_new_password(client, f"/accounts/reset-password/{token}")).status_code == 404


async def test_an_unknown_token_for_htmx_replaces_the_page_content(client, user):
    response = await post_new_password(client, "/accounts/reset-password/" + "a" * 43, headers=HX)
    assert response.status_code == 404 and "<html" not in response.text
    assert response.headers["hx-retarget"] == "#main" and "Ask for a new link" in response.text


async def test_the_token_pages_send_no_referrer(client, app, user):
    link = await reset_link(client, app)
    assert (await client.get(link)).headers["referrer-policy"] == "no-referrer"
    assert (await choose(client, link, "short")).headers["referrer-policy"] == "no-referrer"
    assert (await client.get("/accounts/reset-password/" + "b" * 43)).headers["referrer-policy"] == "no-referrer"
    assert (await client.get("/accounts/reset-password")).headers["referrer-policy"] == "same-origin"


async def test_requests_are_limited_per_email(make_app):
    app = await make_app(reset_email_limit=2)
    await create_user(app)
    async with make_client(app) as client:
        for _ in range(2):
            assert (await ask_for_reset(client)).status_code == 200
        limited = await ask_for_reset(client, headers=HX)
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 3600
        assert "Too many reset requests" in limited.text and "<html" not in limited.text
        # An address without an account is counted the same, so the limit tells nothing either.
        for _ in range(2):
            await ask_for_reset(client, "nobody@example.com")
        assert (await ask_for_reset(client, "nobody@example.com")).status_code == 429
    assert len([m for m in await messages_to(app, "ann@example.com") if "Reset" in m["subject"]]) == 2


async def test_requests_are_limited_per_client(make_app):
    app = await make_app(reset_client_limit=3)
    async with make_client(app) as client:
        for number in range(3):
            assert (await ask_for_reset(client, f"guess{number}@example.com")).status_code == 200
        assert (await ask_for_reset(client, "another@example.com")).status_code == 429
    async with make_client(app, client=("198.51.100.4", 1)) as other:
        assert (await ask_for_reset(other, "another@example.com")).status_code == 200


@pytest.mark.parametrize("limits", [{"reset_email_limit": 1}, {"reset_client_limit": 2}], ids=["per-email", "per-client"])
async def test_at_a_limit_an_existing_and_a_missing_account_get_the_same_refusal(make_app, limits):
    """Allowed or refused, the answer is the same page for an address with an account and one without."""
    app = await make_app(**limits)
    await create_user(app)
    async with make_client(app) as client:
        answers = {email: [await ask_for_reset(client, email, headers=HX)] for email in ("ann@example.com", "nobody@example.com")}
        for email in answers:
            answers[email].append(await ask_for_reset(client, email, headers=HX))

    def seen(responses, email):
        return [(r.status_code, "retry-after" in r.headers, r.text.replace(email, "@")) for r in responses]

    ann, nobody = seen(answers["ann@example.com"], "ann@example.com"), seen(answers["nobody@example.com"], "nobody@example.com")
    assert [status for status, _, _ in ann] == [200, 429]
    assert ann == nobody
    assert "Too many reset requests" in ann[1][2]


async def test_request_completion_and_refusal_are_audited(client, app, user, caplog):
    import json
    import logging

    caplog.set_level(logging.INFO, logger="hxauth.audit")
    link = await reset_link(client, app)
    await choose(client, link)
    await client.get(link)
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "hxauth.audit"]
    assert [e["event"] for e in events] == ["reset.requested", "reset.completed", "reset.refused"]
    assert events[0]["user_id"] == events[1]["user_id"] == user["id"]
    audit_text = "\n".join(r.getMessage() for r in caplog.records if r.name == "hxauth.audit")
    assert link.rsplit("/", 1)[1] not in audit_text  # the token (development logs links in hxauth.mail's lines)


async def test_an_existing_and_a_missing_account_take_the_same_time_over_a_real_socket(tmp_path):
    """Medians of alternating requests over loopback, with production Argon2 parameters: were either path to hash
    (or verify) a password, it would be tens of milliseconds slower than the other, far past the allowance."""
    from conftest import running_server

    production_argon2 = {"argon2_time_cost": 3, "argon2_memory_kib": 65536, "argon2_parallelism": 4}
    unlimited = {"reset_email_limit": 10**6, "reset_client_limit": 10**6}
    with running_server(tmp_path, **production_argon2, **unlimited) as server:
        await create_user(server)
        async with httpx.AsyncClient(base_url=server) as browser:
            token = await csrf_from(browser)
            timings = {"ann@example.com": [], "nobody@example.com": []}

            async def ask(email):
                started = time.perf_counter()
                response = await browser.post("/accounts/reset-password", data={"csrf_token": token, "email": email})
                assert response.status_code == 200 and SAME_ANSWER in response.text
                return time.perf_counter() - started

            for email in timings:  # warm up both paths (template compilation, the first connection)
                await ask(email)
            for _ in range(30):
                for email in timings:
                    timings[email].append(await ask(email))
    existing, missing = (statistics.median(timings[email]) for email in timings)
    assert abs(existing - missing) < 0.005, f"existing {existing * 1000:.1f} ms, missing {missing * 1000:.1f} ms"


async def test_the_reset_over_real_smtp_plain_and_htmx(make_app, smtp_server):
    """The mail is delivered by the app's sender to a real SMTP server; its link is followed as a person would."""
    from conftest import html_of, link_in, text_of

    app = await make_app(mail_url=smtp_server.url)
    await create_user(app)
    await smtp_server.next_message(to="ann@example.com")  # the signup's confirmation
    async with make_client(app) as client:
        for headers, password in ((None, NEW_PASSWORD), (HX, "and then another passphrase")):
            assert (await ask_for_reset(client, headers=headers)).status_code == 200
            message = await smtp_server.next_message(to="ann@example.com")
            assert message["Subject"] == "Reset your hxauth password"
            link = link_in(message)
            assert link.startswith("http://localhost:8000/accounts/reset-password/") and link in html_of(message)
            path = link.removeprefix("http://localhost:8000")
            done = await choose(client, path, password, headers=headers)
            assert done.status_code == (200 if headers else 303)
            changed = await smtp_server.next_message(to="ann@example.com")
            assert changed["Subject"] == "Your hxauth password was changed" and "If it was not you" in text_of(changed)
            assert (await log_in(client, password=password)).status_code == 303
            await submit(client, "/accounts/logout")

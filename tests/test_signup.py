"""/accounts/signup: the form and its submission."""

import asyncio

import pytest

from conftest import BOOSTED, HX, PASSWORD, count, csrf_token, log_in, make_client, submit


async def sign_up(client, headers=None, **fields):
    """Fill in and send the signup form as Bob; a field given as None is left out."""
    return await submit(client, "/accounts/signup", {"name": "Bob", "email": "bob@example.com", "password": PASSWORD, **fields}, headers=headers)


async def test_form_has_name_email_password_and_a_csrf_token(client):
    response = await client.get("/accounts/signup")
    assert response.status_code == 200
    for field in ('name="name"', 'name="email"', 'name="password"', 'name="csrf_token"'):
        assert field in response.text
    assert 'type="password"' in response.text and 'autocomplete="new-password"' in response.text


async def test_logged_in_user_is_sent_home_from_the_form_and_the_post(logged_in):
    assert (await logged_in.get("/accounts/signup")).headers["location"] == "/"
    data = {"name": "X", "email": "x@example.com", "password": PASSWORD}
    response = await submit(logged_in, "/accounts/logout", data, action="/accounts/signup")
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_signup_creates_the_account_and_redirects_to_login_with_a_flash(client, app):
    response = await sign_up(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts/login"
    assert await count(app, "SELECT count(*) FROM users WHERE email = 'bob@example.com'") == 1
    login_page = await client.get("/accounts/login")
    assert "Your account is ready" in login_page.text
    again = await client.get("/accounts/login")
    assert "Your account is ready" not in again.text  # a flash is shown once


async def test_htmx_signup_answers_with_hx_location_instead_of_a_redirect(client):
    response = await sign_up(client, headers=HX)
    assert response.status_code == 200
    assert response.headers["hx-location"] == "/accounts/login"
    assert "location" not in response.headers


async def test_the_password_is_stored_as_an_argon2id_hash(client, app):
    await sign_up(client)
    stored = await app.state.db.fetch_val("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"name": ""}, "name", "Enter your name."),
        ({"name": "   "}, "name", "Enter your name."),
        ({"name": None}, "name", "Enter your name."),
        ({"name": "x" * 101}, "name", "at most 100"),
        ({"name": "Eve\u202egnp.exe"}, "name", "letters, digits"),
        ({"name": "Eve\x00"}, "name", "letters, digits"),
        ({"email": ""}, "email", "Enter your email"),
        ({"email": None}, "email", "Enter your email"),
        ({"email": "not-an-email"}, "email", "like name@example.com"),
        ({"email": "a@b"}, "email", "like name@example.com"),
        ({"email": "two@@example.com"}, "email", "like name@example.com"),
        ({"email": "a" * 243 + "@example.com"}, "email", "at most 254"),
        ({"password": ""}, "password", "at least 15"),
        ({"password": None}, "password", "at least 15"),
        ({"password": "x" * 14}, "password", "at least 15"),
        ({"password": "x" * 1025}, "password", "at most 1024"),
        ({"password": "Q1W2E3R4T5Y6U7I8"}, "password", "too common"),
        ({"password": "bob@example.com"}, "password", "too common"),
    ],
)
async def test_invalid_fields_get_422_with_the_error_next_to_the_field(client, app, fields, field, message):
    response = await sign_up(client, headers=HX, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert f'id="{field}-error"' in response.text
    assert f'aria-describedby="{field}-error"' in response.text or f'{field}-hint {field}-error' in response.text
    assert "<html" not in response.text  # a fragment for htmx to swap in place
    assert await count(app, "SELECT count(*) FROM users") == 0


@pytest.mark.parametrize(
    "password",
    ["x" * 15, "y" * 64, "z" * 1024, "pässwörd " * 3, "🦄" * 15, "a" * 73 + "b"],
    ids=["minimum", "64 chars", "maximum", "unicode", "emoji", "over 72 bytes"],
)
async def test_long_and_unicode_passwords_are_accepted_at_and_within_the_bounds(client, app, password):
    response = await sign_up(client, password=password)
    assert response.status_code == 303
    assert await count(app, "SELECT count(*) FROM users") == 1


async def test_the_form_keeps_name_and_email_but_never_echoes_the_password(client):
    secret = "hunter2-but-short"
    response = await sign_up(client, name="Bob <b>", email="bob@", password="short" + secret[:5])
    assert response.status_code == 422
    assert 'value="Bob &lt;b&gt;"' in response.text
    assert 'value="bob@"' in response.text
    assert "short" + secret[:5] not in response.text


async def test_the_first_invalid_field_gets_focus(client):
    response = await sign_up(client, name="Bob", email="nope", password="")
    assert response.text.count(" autofocus") == 1
    assert 'id="email" name="email"' in response.text.split(" autofocus")[0].rsplit("<input", 1)[1]


async def test_plain_post_with_errors_gets_the_whole_page(client):
    response = await sign_up(client, email="nope")
    assert response.status_code == 422
    assert response.text.startswith("<!DOCTYPE html>")


async def test_email_taken_in_any_letter_case_is_refused_cleanly(client, app, user):
    response = await sign_up(client, headers=HX, email="  ANN@Example.COM ")
    assert response.status_code == 409
    assert "User already exists." in response.text
    assert await count(app, "SELECT count(*) FROM users") == 1


async def test_emails_are_trimmed_and_stored_lower_case(client, app):
    await sign_up(client, email="  Bob@Example.COM ")
    assert await app.state.db.fetch_val("SELECT email FROM users") == "bob@example.com"


async def test_concurrent_signups_with_one_email_make_one_account(make_app):
    app = await make_app(hash_per_client=10)  # ten tabs of one browser, each hashing
    async with make_client(app) as client:
        token = await csrf_token(client, "/accounts/signup")
        data = {"csrf_token": token, "name": "Bob", "email": "race@example.com", "password": PASSWORD}
        responses = await asyncio.gather(*[client.post("/accounts/signup", data=data) for _ in range(10)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [303] + [409] * 9
    assert await count(app, "SELECT count(*) FROM users") == 1


async def test_names_are_stored_as_typed_and_escaped_when_shown(client, app):
    name = "<script>alert(1)</script>"
    assert (await sign_up(client, name=name)).status_code == 303
    assert await app.state.db.fetch_val("SELECT name FROM users") == name
    assert (await log_in(client, email="bob@example.com")).status_code == 303
    home = (await client.get("/")).text
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;!" in home
    assert "<script>alert" not in home


async def test_signups_are_limited_per_client(make_app):
    app = await make_app(signup_limit=2)
    async with make_client(app) as client:
        for number in range(2):
            assert (await sign_up(client, email=f"u{number}@example.com")).status_code == 303
        response = await sign_up(client, email="u3@example.com")
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) > 0
        assert await count(app, "SELECT count(*) FROM users") == 2


async def test_boosted_signup_form_submission_gets_hx_location(client):
    response = await sign_up(client, headers=BOOSTED)
    assert response.headers["hx-location"] == "/accounts/login"


async def test_a_blank_form_ties_the_password_hint_to_its_field_and_marks_nothing_invalid(client):
    """A blank form, even right after one full of errors, carries none of them."""
    await sign_up(client, name="", email="nope", password="")  # a form full of errors first
    response = await client.get("/accounts/signup")
    assert 'id="password-hint"' in response.text and 'aria-describedby="password-hint"' in response.text
    assert "aria-invalid" not in response.text and 'class="error"' not in response.text
    assert " autofocus" not in response.text


async def test_with_require_confirmed_email_a_taken_address_is_answered_like_a_new_one_and_its_owner_is_told(make_app, smtp_server):
    """The form no longer tells who has an account: both get the same redirect and flash; only mail differs."""
    from conftest import create_user, link_in, text_of

    app = await make_app(require_confirmed_email=True, mail_url=smtp_server.url)
    await create_user(app, name="Ann", email="ann@example.com")
    answers = []
    for email in ("new@example.com", "ANN@example.com"):
        async with make_client(app) as browser:
            for headers in (None, HX):
                data = {"name": "Someone", "email": email, "password": PASSWORD + " " + email + str(headers)}
                response = await submit(browser, "/accounts/signup", data, headers=headers)
                answers.append((response.status_code, response.headers.get("location") or response.headers.get("hx-location"),
                                response.cookies.get("flash")))
    assert answers[0] == answers[2] and answers[1] == answers[3], answers
    assert answers[0] == (303, "/accounts/login", "signed_up_confirm")
    assert await count(app, "SELECT count(*) FROM users") == 2  # Ann and the new one, no second Ann
    subject = "Someone tried to sign up for hxauth with your address"
    told, again = [await smtp_server.next_message(to="ann@example.com", subject=subject) for _ in range(2)]  # plain and htmx
    assert "No new account was made" in text_of(told) and link_in(told) == "http://localhost:8000/accounts/login"
    # new@example.com signed up first (plain), so the htmx signup after it was a taken address too: a link and a notice.
    await smtp_server.next_message(to="new@example.com", subject="Confirm your email address for hxauth")
    await smtp_server.next_message(to="new@example.com", subject=subject)


async def test_by_default_a_taken_address_is_still_said_to_be_taken(client, user):
    response = await submit(client, "/accounts/signup", {"name": "Ann", "email": "ann@example.com", "password": PASSWORD + " again"})
    assert response.status_code == 409 and "User already exists" in response.text

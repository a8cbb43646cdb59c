"""/accounts/login: the form and its submission."""

import pytest

from conftest import BOOSTED, HX, PASSWORD, count, create_user, log_in, make_client, submit


async def test_form_has_email_password_csrf_and_keeps_next(client):
    response = await client.get("/accounts/login?next=/accounts/logout")
    assert response.status_code == 200
    for field in ('name="email"', 'name="password"', 'name="csrf_token"', 'name="next" value="/accounts/logout"'):
        assert field in response.text


async def test_login_starts_a_session_and_goes_home(client, user):
    response = await log_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "Hi Ann!" in (await client.get("/")).text


async def test_htmx_login_answers_with_hx_location(client, user):
    response = await log_in(client, headers=HX)
    assert response.status_code == 200
    assert response.headers["hx-location"] == "/"


@pytest.mark.parametrize(
    "next_url, expected",
    [
        ("/accounts/logout", "/accounts/logout"),
        ("/?tab=1", "/?tab=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
async def test_login_goes_to_next_only_if_it_is_a_path_on_this_site(client, user, next_url, expected):
    response = await log_in(client, next=next_url)
    assert response.headers["location"] == expected


async def test_email_is_matched_whatever_its_case_and_spaces(client, user):
    response = await log_in(client, email="  ANN@example.COM ")
    assert response.status_code == 303


@pytest.mark.parametrize("email, password", [("ann@example.com", "wrong password here"), ("nobody@example.com", PASSWORD)])
async def test_wrong_email_or_password_get_one_generic_message(client, user, email, password):
    response = await log_in(client, email=email, password=password, headers=HX)
    assert response.status_code == 422
    assert "Invalid email or password." in response.text
    assert "<html" not in response.text
    assert "Hi Ann" not in (await client.get("/")).text


async def test_failed_login_keeps_the_email_but_not_the_password(client, user):
    response = await log_in(client, password="wrong password here")
    assert 'value="ann@example.com"' in response.text
    assert "wrong password here" not in response.text


@pytest.mark.parametrize("missing", ["email", "password"])
async def test_missing_fields_get_422_not_500(client, user, missing):
    data = {"email": user["email"], "password": PASSWORD, missing: None}
    response = await submit(client, "/accounts/login", data, headers=HX)
    assert response.status_code == 422
    assert f'id="{missing}-error"' in response.text


async def test_a_password_over_72_bytes_is_not_truncated(client, app):
    long_password = "a" * 80
    await create_user(app, email="long@example.com", password=long_password)
    assert (await log_in(client, email="long@example.com", password="a" * 72 + "b" * 8)).status_code == 422
    assert (await log_in(client, email="long@example.com", password=long_password)).status_code == 303


async def test_logged_in_user_is_sent_home_from_the_form_and_the_post(logged_in):
    assert (await logged_in.get("/accounts/login")).headers["location"] == "/"
    response = await logged_in.get("/accounts/login", headers=HX)
    assert response.headers["hx-location"] == "/"
    data = {"email": "x@example.com", "password": "y"}
    response = await submit(logged_in, "/accounts/logout", data, action="/accounts/login")
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_boosted_login_gets_hx_location(client, user):
    response = await log_in(client, headers=BOOSTED)
    assert response.headers["hx-location"] == "/"


async def test_too_many_failures_get_429_with_retry_after_and_success_is_refused_meanwhile(make_app):
    app = await make_app(login_account_limit=3)
    await create_user(app)
    async with make_client(app) as client:
        for _ in range(3):
            assert (await log_in(client, password="wrong password here")).status_code == 422
        response = await log_in(client, headers=HX)
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 15 * 60
        assert "Too many failed attempts" in response.text
        assert "<html" not in response.text
    # Another client is not locked out: the owner can still log in from elsewhere.
    async with make_client(app, client=("198.51.100.9", 4000)) as other:
        assert (await log_in(other)).status_code == 303


async def test_a_successful_login_clears_the_failures_of_that_account_and_client(make_app):
    app = await make_app(login_account_limit=3)
    await create_user(app)
    async with make_client(app) as client:
        for _ in range(2):
            await log_in(client, password="wrong password here")
        assert (await log_in(client)).status_code == 303
        assert await count(app, "SELECT count(*) FROM rate_limit_hits WHERE bucket LIKE :p", {"p": "login:%"}) == 0


async def test_failures_are_also_limited_per_client_across_accounts(make_app):
    app = await make_app(login_client_limit=3)
    async with make_client(app) as client:
        for number in range(3):
            await log_in(client, email=f"guess{number}@example.com", password="wrong password here")
        assert (await log_in(client, email="another@example.com")).status_code == 429


async def test_what_one_visitor_typed_never_shows_in_the_next_visitors_form(app, user):
    """Form fields are rendered once per distinct set of arguments (hxauth.pages): never shared across values."""
    async with make_client(app) as first, make_client(app) as second:
        failed = await log_in(first, email="typed-by-first@example.com", password="wrong password here")
        assert 'value="typed-by-first@example.com"' in failed.text and "Invalid email or password." in failed.text
        blank = await second.get("/accounts/login")
        assert "typed-by-first" not in blank.text and "Invalid email" not in blank.text
        assert 'id="email" name="email" type="email" value=""' in blank.text

"""Property-based: whatever arrives in any field, the answer is never a 5xx and no invalid user is made."""

from urllib.parse import quote, urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from conftest import HX, PASSWORD, create_user, csrf_token, log_in, make_client, post_forms
from hxauth import accounts
from hxauth.passwords import MAX_LENGTH, normalize

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# One app and client per test, shared by its examples (hence the health check); pytest-asyncio runs each example.
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
field_text = st.one_of(st.text(max_size=300), st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40))


@pytest.fixture
async def app(make_app):
    """No rate limit gets in the way of 150 examples; passwords of 8 are enough to be accepted."""
    return await make_app(
        password_min_length=8, signup_limit=10**6, login_account_limit=10**6, login_client_limit=10**6,
        reset_email_limit=10**6, reset_client_limit=10**6, passkey_failure_limit=10**6, passkey_challenge_limit=10**6,
    )


@pytest.fixture
async def token(client):
    return await csrf_token(client, "/accounts/signup")


@EXAMPLES
@given(name=field_text, email=st.one_of(field_text, st.emails()), password=field_text)
async def test_signup_with_any_text_is_never_a_5xx_and_never_stores_invalid_data(app, client, token, name, email, password):
    response = await client.post("/accounts/signup", data={"csrf_token": token, "name": name, "email": email, "password": password})
    assert response.status_code in (303, 409, 422)
    event("signup created a user" if response.status_code == 303 else "signup refused")
    if response.status_code == 303:
        stored = await app.state.db.fetch_one("SELECT name, email FROM users WHERE email = :email", {"email": accounts.normalize_email(email)})
        assert accounts.check_name(stored["name"])[1] is None
        assert accounts.check_email(stored["email"])[1] is None
        assert 8 <= len(normalize(password)) <= MAX_LENGTH


@EXAMPLES
@given(email=field_text, password=field_text)
async def test_login_with_any_text_is_never_a_5xx(client, token, email, password):
    response = await client.post("/accounts/login", data={"csrf_token": token, "email": email, "password": password})
    assert response.status_code == 422


@EXAMPLES
@given(body=st.binary(max_size=2000))
async def test_any_bytes_after_a_valid_token_are_never_a_5xx(client, token, body):
    for path in ("/accounts/signup", "/accounts/login"):
        response = await client.post(path, content=f"csrf_token={token}&".encode() + body, headers=FORM)
        assert response.status_code < 500
        assert response.status_code in (303, 400, 409, 422)


@EXAMPLES
@given(email=st.one_of(field_text, st.emails()))
async def test_a_reset_request_with_any_text_is_never_a_5xx(client, token, email):
    response = await client.post("/accounts/reset-password", data={"csrf_token": token, "email": email})
    assert response.status_code in (200, 422)


@EXAMPLES
@given(text=st.text(min_size=1, max_size=300).filter(lambda t: t.strip(".")), password=field_text)
async def test_any_token_in_a_link_is_a_404_never_a_5xx(client, token, text, password):
    """Whatever follows /accounts/reset-password/ or /accounts/confirm/, percent-encoded as a browser sends it
    (a path of dots alone is another path, which the browser resolves before sending). A %2F is a / once decoded:
    one at the end gets Starlette's redirect to the path without it."""
    answers = {404, 307} if quote(text, safe="").endswith("%2F") else {404}
    for path in ("/accounts/reset-password/", "/accounts/confirm/"):
        link = path + quote(text, safe="")
        assert (await client.get(link)).status_code in answers
        assert (await client.post(link, data={"csrf_token": token, "password": password})).status_code in answers


def is_a_path_on_this_site(url: str) -> bool:
    parts = urlsplit(url)
    return (
        url.startswith("/") and not url.startswith("//") and "\\" not in url and not parts.scheme and not parts.netloc
        and all(32 < ord(c) < 127 for c in url)  # a header can carry it, and no browser reads it as another host
        and urlsplit(urljoin("http://testserver/", url)).netloc == "testserver"
    )


next_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="/\\:?#%@.~ \t\u3000\u2028é€ab", max_size=20).map(lambda text: "/" + text),
    st.sampled_from(["/\u3000/x", "/%E3%80%80/x", "/\u00e9t\u00e9?q=\u20ac", "/?next=//evil.example", "/@evil.example"]),
)


@pytest.fixture
async def ann(app):
    return await create_user(app)


@EXAMPLES
@given(next_url=next_text, htmx=st.booleans())
async def test_login_with_any_next_goes_to_a_path_on_this_site_and_is_never_a_5xx(app, ann, next_url, htmx):
    async with make_client(app) as browser:  # a new browser each time: a logged-in one would just be sent home
        form = await browser.get("/accounts/login", params={"next": next_url})
        assert form.status_code == 200
        hidden = post_forms(form)[0].hidden
        assert is_a_path_on_this_site(hidden["next"])
        for sent in (hidden["next"], next_url):  # what the page's form carries, and what an attacker posts
            browser.cookies.delete("session")
            token = await csrf_token(browser)
            data = {"csrf_token": token, "email": "ann@example.com", "password": PASSWORD, "next": sent}
            response = await browser.post("/accounts/login", data=data, headers=HX if htmx else None)
            assert response.status_code == (200 if htmx else 303)
            target = response.headers["hx-location" if htmx else "location"]
            assert is_a_path_on_this_site(target)


@EXAMPLES
@given(credential=st.one_of(field_text, st.just("{}"), st.just('{"id": "x", "response": {}}')), next_url=field_text)
async def test_a_passkey_login_with_any_answer_is_a_422_never_a_5xx(app, client, token, credential, next_url):
    await client.post("/accounts/login/passkey/options", data={"csrf_token": token})  # a live challenge, used up by each try
    response = await client.post("/accounts/login/passkey", data={"csrf_token": token, "credential": credential, "next": next_url})
    assert response.status_code == 422


@pytest.fixture
async def ann_with_totp(make_app):
    """Ann with TOTP on, logged out; no limit gets in the way of the examples."""
    from test_two_factor import turn_on_fresh

    app = await make_app(two_factor_account_limit=10**6, two_factor_client_limit=10**6, login_account_limit=10**6, login_client_limit=10**6)
    await create_user(app)
    async with make_client(app) as client:
        await turn_on_fresh(app, client)
        yield client


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=field_text)
async def test_any_text_as_the_second_factor_code_is_a_422_never_a_5xx(ann_with_totp, code):
    """A half-done login (password right) and any text as its code: 422, and no session."""
    assert (await log_in(ann_with_totp)).status_code == 303
    form = {"csrf_token": await csrf_token(ann_with_totp, "/accounts/login/code"), "code": code}
    response = await ann_with_totp.post("/accounts/login/code", data=form)
    assert response.status_code == 422
    assert "Hi Ann!" not in (await ann_with_totp.get("/")).text

"""Property-based: whatever arrives in any field, the answer is never a 5xx and no invalid user is made."""

import functools

import anyio.from_thread
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from app import create_app
from conftest import CSRF_FIELD, make_client, make_settings
from hxauth import accounts
from hxauth.passwords import MAX_LENGTH, normalize

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
field_text = st.one_of(st.text(max_size=300), st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40))


class Browser:
    """A synchronous face on the async client (hypothesis drives plain functions): the app runs in a portal thread."""

    def __init__(self, portal, app):
        self.portal, self.app = portal, app
        self.client = make_client(app)
        self.token = CSRF_FIELD.search(self.get("/accounts/signup").text).group(1)

    def get(self, path):
        return self.portal.call(self.client.get, path)

    def post(self, path, **kwargs):
        return self.portal.call(functools.partial(self.client.post, path, **kwargs))

    def fetch_one(self, sql, values):
        return self.portal.call(self.app.state.db.fetch_one, sql, values)


@pytest.fixture
def browser(tmp_path):
    limits = {"signup_limit": 10**6, "login_account_limit": 10**6, "login_client_limit": 10**6}
    app = create_app(make_settings(tmp_path, password_min_length=8, **limits))
    with anyio.from_thread.start_blocking_portal() as portal, portal.wrap_async_context_manager(app.router.lifespan_context(app)):
        browser = Browser(portal, app)
        yield browser
        portal.call(browser.client.aclose)


@EXAMPLES
@given(name=field_text, email=st.one_of(field_text, st.emails()), password=field_text)
def test_signup_with_any_text_is_never_a_5xx_and_never_stores_invalid_data(browser, name, email, password):
    response = browser.post("/accounts/signup", data={"csrf_token": browser.token, "name": name, "email": email, "password": password})
    assert response.status_code in (303, 409, 422)
    event("signup created a user" if response.status_code == 303 else "signup refused")
    if response.status_code == 303:
        stored = browser.fetch_one("SELECT name, email FROM users WHERE email = :email", {"email": accounts.normalize_email(email)})
        assert accounts.check_name(stored["name"])[1] is None
        assert accounts.check_email(stored["email"])[1] is None
        assert 8 <= len(normalize(password)) <= MAX_LENGTH


@EXAMPLES
@given(email=field_text, password=field_text)
def test_login_with_any_text_is_never_a_5xx(browser, email, password):
    response = browser.post("/accounts/login", data={"csrf_token": browser.token, "email": email, "password": password})
    assert response.status_code == 422


@EXAMPLES
@given(body=st.binary(max_size=2000))
def test_any_bytes_after_a_valid_token_are_never_a_5xx(browser, body):
    for path in ("/accounts/signup", "/accounts/login"):
        response = browser.post(path, content=f"csrf_token={browser.token}&".encode() + body, headers=FORM)
        assert response.status_code < 500
        assert response.status_code in (303, 400, 409, 422)

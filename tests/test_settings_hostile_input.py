"""Settings forms, logged in: whatever arrives in any field or in a link's token is a clear 4xx (or the change), never a 5xx."""

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PASSWORD, create_user, csrf_token, log_in, make_client

PAGE = "/accounts/settings"
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
field_text = st.one_of(st.text(max_size=300), st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40), st.just("x" * 20_000))
FORMS = {
    "name": ["name"],
    "email": ["email", "current_password"],
    "password": ["current_password", "new_password"],
    "sessions/end": ["session_id"],
    "delete": ["current_password", "confirm"],
    "two-factor/enable": ["code"],
    "two-factor/recovery-codes": ["current_password"],
    "two-factor/disable": ["current_password", "code"],
    "passkeys/add": ["credential"],
    "passkeys/rename": ["passkey_id", "name"],
    "passkeys/remove": ["passkey_id", "current_password", "credential"],
}


@pytest.fixture
async def ann(make_app):
    app = await make_app(password_min_length=8, login_account_limit=10**6, login_client_limit=10**6)
    await create_user(app)
    async with make_client(app) as client:
        await log_in(client)
        yield client


@EXAMPLES
@given(form=st.sampled_from(sorted(FORMS)), value=field_text)
async def test_any_text_in_any_settings_field_is_never_a_5xx(ann, form, value):
    token = await csrf_token(ann, PAGE)
    for field in FORMS[form]:
        data = {"csrf_token": token, **{name: (value if name == field else "") for name in FORMS[form]}}
        response = await ann.post(f"{PAGE}/{form}", data=data)
        assert response.status_code in (303, 413, 422), (form, field, response.status_code)
        if response.status_code == 303 and form == "delete":
            pytest.fail("deleted with a made-up password")


@EXAMPLES
@given(token=st.text(max_size=100))
async def test_any_text_as_an_email_change_token_is_a_404_never_a_5xx(ann, token):
    path = PAGE + "/email/" + quote("".join(c for c in token if c not in "/.") or "x", safe="")
    assert (await ann.get(path)).status_code in (404, 405)
    data = {"csrf_token": await csrf_token(ann, PAGE), "current_password": PASSWORD}
    assert (await ann.post(path, data=data)).status_code in (404, 405)

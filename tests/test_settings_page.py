"""/accounts/settings: the page, who may see it, and the name section (plain and htmx)."""

import json
import logging

import pytest

from conftest import HX, PASSWORD, create_user, log_in, make_client, submit

PAGE = "/accounts/settings"


async def settings_post(client, form: str, data: dict | None = None, headers=None):
    """Fill in one section's form of the settings page and send it."""
    return await submit(client, PAGE, data, action=f"{PAGE}/{form}", headers=headers)


def audit_events(caplog) -> list[dict]:
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == "hxauth.audit"]


async def test_anonymous_visitors_go_to_the_login_page_and_come_back_after_it(client, user):
    response = await client.get(PAGE)
    assert response.status_code == 303 and response.headers["location"] == "/accounts/login?next=%2Faccounts%2Fsettings"
    response = await log_in(client, next=PAGE)
    assert response.headers["location"] == PAGE
    page = await client.get(PAGE)
    assert page.status_code == 200 and "<h1>Settings</h1>" in page.text


async def test_the_page_has_a_section_per_task_and_the_header_links_to_it(app, logged_in):
    page = await logged_in.get(PAGE)
    for heading in ("Name", "Email", "Password", "Where you are logged in", "Delete account"):
        assert f">{heading}</h2>" in page.text
    for action in ("name", "email", "password", "delete"):
        assert f'action="{PAGE}/{action}"' in page.text
    assert 'aria-current="page" href="/accounts/settings">Settings</a>' in page.text
    assert page.headers["cache-control"] == "no-store"
    home = await logged_in.get("/")
    assert 'href="/accounts/settings">Settings</a>' in home.text
    async with make_client(app) as anonymous:
        assert "Settings</a>" not in (await anonymous.get("/")).text


async def test_an_htmx_get_of_the_page_gets_its_content(logged_in):
    response = await logged_in.get(PAGE, headers=HX)
    assert response.status_code == 200 and "<!DOCTYPE" not in response.text and "<h1>Settings</h1>" in response.text


@pytest.mark.parametrize("form", ["name", "email", "password", "sessions/end", "sessions/end-others", "delete"])
async def test_an_anonymous_post_to_a_settings_form_goes_to_the_login_page(client, form):
    response = await submit(client, "/accounts/login", {"name": "x"}, action=f"{PAGE}/{form}")
    assert response.status_code == 303 and response.headers["location"] == "/accounts/login?next=/accounts/settings"
    htmx = await submit(client, "/accounts/login", {"name": "x"}, action=f"{PAGE}/{form}", headers={**HX, "HX-Current-URL": "http://testserver/accounts/settings"})
    assert htmx.headers["hx-redirect"] == "/accounts/login?next=%2Faccounts%2Fsettings"


# Name


async def test_a_plain_post_renames_the_user_and_comes_back_with_a_message(logged_in, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    response = await settings_post(logged_in, "name", {"name": "  Ann   Smith "})
    assert response.status_code == 303 and response.headers["location"] == PAGE
    page = await logged_in.get(PAGE)
    assert "Your name is saved." in page.text and 'value="Ann Smith"' in page.text
    assert '<span class="who" id="who">Ann Smith</span>' in page.text
    assert "Your name is saved." not in (await logged_in.get(PAGE)).text  # shown once
    assert "Hi Ann Smith!" in (await logged_in.get("/")).text
    assert [e["event"] for e in audit_events(caplog)][-1] == "settings.name_changed"


async def test_an_htmx_post_swaps_the_section_and_the_name_in_the_header(logged_in):
    response = await settings_post(logged_in, "name", {"name": "Ann <b>Smith</b>"}, headers=HX)
    assert response.status_code == 200 and "<!DOCTYPE" not in response.text
    assert response.text.lstrip().startswith('<form id="name-form"')
    assert "Your name is saved." in response.text
    assert '<span class="who" id="who" hx-swap-oob="true">Ann &lt;b&gt;Smith&lt;/b&gt;</span>' in response.text


@pytest.mark.parametrize("name, message", [
    ("   ", "Enter your name."),
    ("x" * 101, "Use at most 100 characters."),
    ("Ann\u202eSmith", "Use letters, digits, spaces and punctuation only."),
    (None, "Enter your name."),
])
async def test_a_bad_name_is_422_in_place_and_nothing_changes(logged_in, name, message, headers):
    response = await settings_post(logged_in, "name", {"name": name}, headers=headers)
    assert response.status_code == 422 and message in response.text
    assert 'aria-invalid="true"' in response.text and ("<!DOCTYPE" in response.text) == (headers is None)
    assert "Hi Ann!" in (await logged_in.get("/")).text


@pytest.fixture(params=[None, HX], ids=["plain", "htmx"])
def headers(request):
    return request.param


async def test_the_settings_page_escapes_what_the_user_typed(logged_in):
    await settings_post(logged_in, "name", {"name": "<script>alert(1)</script>"})
    page = await logged_in.get(PAGE)
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_a_wrong_current_password_is_422_and_counts_towards_the_login_limit(make_app):
    app = await make_app(login_device_limit=3)  # the logged-in browser holds a device cookie (hxauth.devices)
    await create_user(app)
    async with make_client(app) as client:
        assert (await log_in(client)).status_code == 303
        for _ in range(3):
            response = await settings_post(client, "password", {"current_password": "not my password at all", "new_password": "a brand new passphrase"}, headers=HX)
            assert response.status_code == 422 and "That is not your current password." in response.text
        response = await settings_post(client, "email", {"email": "new@example.com", "current_password": PASSWORD}, headers=HX)
        assert response.status_code == 429 and 1 <= int(response.headers["retry-after"]) <= app.state.settings.login_device_window
        assert "Too many wrong passwords" in response.text and "<!DOCTYPE" not in response.text
        # This browser's device cookie is now locked for a login too: the guesses were login attempts.
        async with make_client(app) as again:
            again.cookies.set("device", client.cookies["device"])
            assert (await log_in(again)).status_code == 429

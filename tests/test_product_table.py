"""Every row of PRODUCT.md's table of pages, as a browser (plain) and as htmx sends it.

Plain requests get 303 redirects; htmx requests get HX-Location instead (fetch
would follow a 3xx silently), and fragments rather than whole pages.
"""

import pytest

from conftest import BOOSTED, HX, PASSWORD, submit

GOOD_SIGNUP = {"name": "Bob", "email": "bob@example.com", "password": PASSWORD}
GOOD_LOGIN = {"email": "ann@example.com", "password": PASSWORD}


def expect_redirect(response, htmx: bool, location: str):
    if htmx:
        assert response.status_code in (200, 204) and response.headers["hx-location"] == location
    else:
        assert response.status_code == 303 and response.headers["location"] == location


def expect_page(response, htmx: bool, text: str, status: int = 200):
    """A whole page for a browser; for an htmx swap of one element, a fragment of it."""
    assert response.status_code == status and text in response.text
    assert "HX-Request" in response.headers["vary"]
    if htmx:
        assert "<!DOCTYPE" not in response.text and "<html" not in response.text
    else:
        assert response.text.startswith("<!DOCTYPE html>") and "</html>" in response.text


async def post(client, path, data, htmx):
    page = "/accounts/logout" if "Log out</button>" in (await client.get("/")).text else "/accounts/login"
    return await submit(client, page, data, action=path, headers=HX if htmx else None)


@pytest.fixture(params=[False, True], ids=["plain", "htmx"])
def htmx(request):
    return request.param


async def test_get_home(client, user, htmx):
    expect_page(await client.get("/", headers=HX if htmx else None), htmx, "You are not logged in")


async def test_get_home_logged_in(logged_in, htmx):
    expect_page(await logged_in.get("/", headers=HX if htmx else None), htmx, "Hi Ann!")


async def test_get_signup(client, htmx):
    expect_page(await client.get("/accounts/signup", headers=HX if htmx else None), htmx, 'name="password"')


async def test_get_signup_logged_in(logged_in, htmx):
    expect_redirect(await logged_in.get("/accounts/signup", headers=HX if htmx else None), htmx, "/")


async def test_post_signup(client, user, htmx):
    expect_redirect(await post(client, "/accounts/signup", GOOD_SIGNUP, htmx), htmx, "/accounts/login")
    invalid = await post(client, "/accounts/signup", {**GOOD_SIGNUP, "email": "nope", "password": "x"}, htmx)
    assert invalid.status_code == 422 and ("<html" in invalid.text) != htmx
    taken = await post(client, "/accounts/signup", {**GOOD_SIGNUP, "email": "ANN@example.com"}, htmx)
    assert taken.status_code == 409 and "User already exists." in taken.text


async def test_post_signup_logged_in(logged_in, htmx):
    expect_redirect(await post(logged_in, "/accounts/signup", GOOD_SIGNUP, htmx), htmx, "/")


async def test_get_login(client, htmx):
    response = await client.get("/accounts/login?next=/somewhere", headers=HX if htmx else None)
    expect_page(response, htmx, 'name="next" value="/somewhere"')


async def test_get_login_logged_in(logged_in, htmx):
    expect_redirect(await logged_in.get("/accounts/login", headers=HX if htmx else None), htmx, "/")


async def test_post_login(client, user, htmx):
    wrong = await post(client, "/accounts/login", {**GOOD_LOGIN, "password": "wrong password here"}, htmx)
    assert wrong.status_code == 422 and "Invalid email or password." in wrong.text
    expect_redirect(await post(client, "/accounts/login", {**GOOD_LOGIN, "next": "/accounts/logout"}, htmx), htmx, "/accounts/logout")


async def test_post_login_logged_in(logged_in, htmx):
    expect_redirect(await post(logged_in, "/accounts/login", GOOD_LOGIN, htmx), htmx, "/")


async def test_get_logout(client, htmx):
    expect_redirect(await client.get("/accounts/logout", headers=HX if htmx else None), htmx, "/")


async def test_get_logout_logged_in(logged_in, htmx):
    expect_page(await logged_in.get("/accounts/logout", headers=HX if htmx else None), htmx, "Log out</button>")


async def test_post_logout(client, htmx):
    expect_redirect(await post(client, "/accounts/logout", {}, htmx), htmx, "/")


async def test_post_logout_logged_in(logged_in, app, htmx):
    expect_redirect(await post(logged_in, "/accounts/logout", {}, htmx), htmx, "/")
    assert await app.state.db.fetch_val("SELECT count(*) FROM sessions") == 0


@pytest.mark.parametrize("path, text", [("/", "You are not logged in"), ("/accounts/signup", 'name="password"'), ("/accounts/login", 'name="next"')])
async def test_a_boosted_get_gets_the_whole_page(client, path, text):
    expect_page(await client.get(path, headers=BOOSTED), False, text)


async def test_a_boosted_get_of_the_logout_page_gets_the_whole_page(logged_in):
    expect_page(await logged_in.get("/accounts/logout", headers=BOOSTED), False, "Log out</button>")

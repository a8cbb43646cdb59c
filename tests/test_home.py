"""GET /: the page everyone lands on."""

from conftest import BOOSTED, HX


async def test_anonymous_visitor_is_told_they_are_not_logged_in(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert "You are not logged in" in response.text
    assert 'href="/accounts/login">Log In</a>' in response.text
    assert 'href="/accounts/signup">Sign Up</a>' in response.text
    assert response.text.startswith("<!DOCTYPE html>")


async def test_logged_in_user_is_greeted_by_name_with_a_logout_button(logged_in):
    response = await logged_in.get("/")
    assert response.status_code == 200
    assert "Hi Ann!" in response.text
    assert 'action="/accounts/logout"' in response.text
    assert "Log out</button>" in response.text
    assert "You are not logged in" not in response.text


async def test_boosted_navigation_gets_the_whole_page(client):
    response = await client.get("/", headers=BOOSTED)
    assert response.text.startswith("<!DOCTYPE html>")
    assert "HX-Request" in response.headers["vary"]


async def test_history_restore_without_hx_request_gets_the_whole_page(client):
    response = await client.get("/", headers={"HX-History-Restore-Request": "true", "HX-Request-Type": "full"})
    assert response.text.startswith("<!DOCTYPE html>")


async def test_pages_that_depend_on_the_session_are_not_cached(logged_in):
    for path in ("/", "/accounts/logout"):
        response = await logged_in.get(path, headers=HX)
        assert response.headers["cache-control"] == "no-store"

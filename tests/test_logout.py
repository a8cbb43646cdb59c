"""/accounts/logout: a confirmation page (GET) and the logout itself (POST)."""

from conftest import HX, count, csrf_token, submit


async def test_anonymous_get_goes_home(client):
    response = await client.get("/accounts/logout")
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_logged_in_get_shows_a_page_with_a_post_form(logged_in):
    response = await logged_in.get("/accounts/logout")
    assert response.status_code == 200
    assert 'method="post" action="/accounts/logout"' in response.text
    assert "Log out</button>" in response.text
    assert "Hi Ann" in (await logged_in.get("/")).text  # a GET changes nothing


async def test_post_logs_out_and_goes_home(logged_in, app):
    response = await submit(logged_in, "/accounts/logout")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "You are not logged in" in (await logged_in.get("/")).text
    assert await count(app, "SELECT count(*) FROM sessions") == 0


async def test_htmx_logout_answers_with_hx_location(logged_in):
    token = await csrf_token(logged_in, "/accounts/logout")
    response = await logged_in.post("/accounts/logout", data={"csrf_token": token}, headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert response.status_code == 200 and response.headers["hx-location"] == "/"


async def test_anonymous_post_goes_home(client):
    token = await csrf_token(client)
    response = await client.post("/accounts/logout", data={"csrf_token": token}, headers=HX)
    assert response.headers["hx-location"] == "/"

"""CSRF: every POST needs this site's token and must not come from another site."""

import pytest
from starlette.routing import Mount, Route

from conftest import HX, PASSWORD, count, csrf_token, log_in, submit

POSTS = ["/accounts/signup", "/accounts/login", "/accounts/logout", "/accounts/login/code"]


def post_routes(routes, prefix=""):
    """The path of every route that accepts a POST, in mounts too."""
    for route in routes:
        if isinstance(route, Mount):
            yield from post_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route) and "POST" in route.methods:
            yield prefix + route.path


@pytest.mark.parametrize("path", POSTS)
async def test_a_post_without_the_token_gets_403(client, app, path):
    await csrf_token(client)
    response = await client.post(path, data={"name": "Eve", "email": "eve@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert "Reload the page" in response.text
    assert await count(app, "SELECT count(*) FROM users") == 0


@pytest.mark.parametrize("path", POSTS)
async def test_a_post_with_another_sessions_token_gets_403(client, app, path):
    from conftest import make_client

    async with make_client(app) as attacker:
        token = await csrf_token(attacker)
    await csrf_token(client)
    response = await client.post(path, data={"csrf_token": token, "name": "Eve", "email": "eve@example.com", "password": PASSWORD})
    assert response.status_code == 403


async def test_every_post_route_is_guarded(client, app):
    """A route added later is covered too: the guard is middleware, not a call each route must remember."""
    posts = set(post_routes(app.routes))
    assert set(POSTS) <= posts
    await csrf_token(client)
    for path in posts:
        response = await client.post(path, data={"name": "x"})
        assert response.status_code == 403, path


async def test_a_post_route_a_developer_adds_is_guarded_too(client, app):
    from starlette.responses import PlainTextResponse

    async def add_note(request):
        return PlainTextResponse("saved")

    app.router.routes.append(Route("/notes", add_note, methods=["POST"]))
    assert "/notes" in set(post_routes(app.routes))
    token = await csrf_token(client)
    assert (await client.post("/notes", data={"text": "hi"})).status_code == 403
    assert (await client.post("/notes", data={"csrf_token": token, "text": "hi"})).text == "saved"


async def test_the_header_token_is_accepted_for_htmx_requests(client, user):
    token = await csrf_token(client)
    response = await client.post(
        "/accounts/login", data={"email": user["email"], "password": PASSWORD}, headers={**HX, "X-CSRF-Token": token}
    )
    assert response.headers["hx-location"] == "/"


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "null"}],
)
async def test_a_post_from_another_origin_gets_403_even_with_the_token(client, user, headers):
    token = await csrf_token(client)
    data = {"csrf_token": token, "email": user["email"], "password": PASSWORD}
    response = await client.post("/accounts/login", data=data, headers=headers)
    assert response.status_code == 403
    assert "another site" in response.text


async def test_same_origin_browser_posts_pass(client, user):
    headers = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert (await log_in(client, headers=headers)).status_code == 303


async def test_the_token_changes_at_login_and_logout(client, user):
    anonymous = await csrf_token(client)
    await log_in(client)
    logged_in = await csrf_token(client, "/accounts/logout")
    assert logged_in != anonymous
    await submit(client, "/accounts/logout")
    assert await csrf_token(client) not in (anonymous, logged_in)


async def test_a_csrf_failure_for_htmx_is_an_alert_above_the_form(client):
    await csrf_token(client)
    response = await client.post("/accounts/login", data={"email": "a@b.co", "password": "x"}, headers=HX)
    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#alerts"
    assert "<html" not in response.text and 'role="alert"' in response.text


def test_the_template_token_is_computed_once_per_render_however_many_forms(monkeypatch):
    from hxauth import csrf

    calls = []
    monkeypatch.setattr(csrf, "csrf_token", lambda connection: calls.append(connection) or "f" * 64)
    token = csrf.TemplateToken("a request")
    assert str(token) == token.__html__() == "f" * 64
    assert calls == ["a request"]

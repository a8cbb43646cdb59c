"""Guards for pages that need a login: anonymous users go to the login page and come back."""

import pytest
from starlette.responses import HTMLResponse
from starlette.routing import Route

from conftest import HX, log_in
from hxauth.guards import require_authenticated_user


@require_authenticated_user
async def private(request):
    return HTMLResponse(f"<p>Private to {request.user.name}</p>")


@pytest.fixture
def private_page(app):
    """A page of the developer's own, behind the guard: one of the site's routes, behind the session like every route."""
    app.router.routes.insert(0, Route("/private", private))


async def test_an_anonymous_visit_goes_to_login_with_next(client, private_page):
    response = await client.get("/private?tab=2")
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts/login?next=%2Fprivate%3Ftab%3D2"


async def test_an_htmx_request_without_a_login_gets_hx_redirect_to_the_page_the_user_was_on(client, private_page):
    headers = {**HX, "HX-Current-URL": "http://testserver/private?tab=3"}
    response = await client.get("/private", headers=headers)
    assert response.headers["hx-redirect"] == "/accounts/login?next=%2Fprivate%3Ftab%3D3"
    assert "<form" not in response.text


async def test_after_login_the_user_comes_back(client, user, private_page):
    first = await client.get("/private")
    login_page = await client.get(first.headers["location"])
    assert 'name="next" value="/private"' in login_page.text
    response = await log_in(client, next="/private")
    assert response.headers["location"] == "/private"
    assert "Private to Ann" in (await client.get("/private")).text

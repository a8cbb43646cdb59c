"""Methods: a method no route serves at a path is a 405 with `Allow`, before any form check; HEAD wherever GET."""

import re

import pytest
from starlette.routing import Route

from conftest import make_client
from routes import routes

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]


def paths() -> dict[str, set[str]]:
    """Every path of the app (parameters filled in), with the methods its routes serve."""
    served = {}
    for route in routes:
        assert isinstance(route, Route), f"{route!r}: teach this test about it"
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        served.setdefault(path, set()).update(route.methods)
    return served


@pytest.mark.parametrize("path, served", sorted(paths().items()))
async def test_a_method_no_route_serves_is_a_405_with_allow_before_any_form_check(client, path, served):
    for method in METHODS:
        # No content type, no token, no origin check passed: a 415 or 403 here would mean a form check came first.
        response = await client.request(method, path, headers={"Origin": "https://elsewhere.example"})
        assert response.status_code < 500, (method, path)
        if method in served:
            assert response.status_code != 405, (method, path)
        else:
            assert response.status_code == 405, (method, path, response.status_code)
            assert set(response.headers["allow"].split(", ")) == served, (method, path)


@pytest.mark.parametrize("path", sorted(path for path, served in paths().items() if "GET" in served))
async def test_head_answers_wherever_get_does_with_the_same_status_and_no_body(client, path):
    get, head = await client.get(path), await client.head(path)
    assert head.status_code == get.status_code and head.content == b""


async def test_put_to_the_login_form_is_405_not_415(client):
    response = await client.put("/accounts/login", content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert "does not accept that kind of request" in response.text


async def test_static_files_and_unknown_paths_answer_other_methods_cleanly(app):
    async with make_client(app) as client:
        response = await client.delete("/static/htmx/htmx.min.js")
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
        assert (await client.put("/no/such/page")).status_code == 404
        assert (await client.options("/no/such/page")).status_code == 404

"""Hosts: in production, a request for a host other than BASE_URL's is a 400 before anything else runs."""

import pytest

from conftest import make_client

SITE = "https://hxauth.example"


@pytest.fixture
async def production(make_app, smtp_server):
    return await make_app(env="production", mail_url=smtp_server.url, base_url=SITE)


@pytest.mark.parametrize("host", ["hxauth.example", "HXAUTH.example", "hxauth.example:443", "hxauth.example:8443"])
async def test_the_sites_own_host_is_served(production, host):
    async with make_client(production, base_url=SITE) as client:
        response = await client.get("/", headers={"Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "host",
    ["evil.example", "hxauth.example.evil.example", "evil.example@hxauth.example", "hxauth.example:x", "10.0.0.3:8000",
     "[::1]", "", "hxauth.example, evil.example"],
)
async def test_any_other_host_is_a_400_before_the_page_static_files_or_a_form_check(production, host):
    async with make_client(production, base_url=SITE) as client:
        for method, path in (("GET", "/"), ("GET", "/static/htmx/htmx.min.js"), ("POST", "/accounts/login"), ("PUT", "/")):
            response = await client.request(method, path, headers={"Host": host})
            assert response.status_code == 400, (method, path, host)
            assert "answers for hxauth.example only" in response.text
            assert "set-cookie" not in response.headers
            assert response.headers["x-content-type-options"] == "nosniff"  # ResponseHeaders still wraps it


async def test_the_probes_answer_whatever_the_host(production):
    async with make_client(production, base_url="http://10.0.0.3:8000") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200


async def test_in_development_any_host_is_served(client):
    assert (await client.get("/", headers={"Host": "anything.example"})).status_code == 200

"""Whose address is the client: the socket peer, unless the peer is one of TRUSTED_PROXIES (over real uvicorn, run as
`make run` runs it). Before, uvicorn believed X-Forwarded-For from 127.0.0.1, so anyone behind a same-host proxy
chose their address: another's, to lock its owner out, or a new one per guess, to dodge the limits."""

import httpx
import pytest

from conftest import CSRF_FIELD, PASSWORD, create_user, make_settings, running_server
from hxauth.settings import ConfigError

LIMITS = {"login_client_limit": 2}


async def wrong_logins(server, forwarded_for: list[str], source="127.0.0.1") -> list[int]:
    """A failed login per X-Forwarded-For value, sent from the loopback address `source`."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=server, transport=transport, timeout=30) as client:
        token = CSRF_FIELD.search((await client.get("/accounts/login")).text).group(1)
        statuses = []
        for number, address in enumerate(forwarded_for):
            data = {"csrf_token": token, "email": f"guess{number}@example.com", "password": "wrong password here"}
            statuses.append((await client.post("/accounts/login", data=data, headers={"X-Forwarded-For": address})).status_code)
        return statuses


async def owner_logs_in(server, source: str) -> int:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=server, transport=transport, timeout=30) as client:
        token = CSRF_FIELD.search((await client.get("/accounts/login")).text).group(1)
        data = {"csrf_token": token, "email": "ann@example.com", "password": PASSWORD}
        return (await client.post("/accounts/login", data=data)).status_code


async def test_by_default_x_forwarded_for_is_ignored_even_from_127_0_0_1(tmp_path):
    with running_server(tmp_path, **LIMITS) as server:
        await create_user(server)
        # A new address per guess changes nothing: every guess is the socket peer's.
        assert await wrong_logins(server, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [422, 422, 429]
        # Failing under the owner's address counts against the sender (locked out already), not against the owner.
        assert await wrong_logins(server, ["127.0.0.2"] * 2) == [429, 429]
        assert await owner_logs_in(server, "127.0.0.2") == 303


async def test_a_trusted_proxy_forwards_the_client_address_and_no_one_else_does(tmp_path):
    with running_server(tmp_path, trusted_proxies="127.0.0.1", **LIMITS) as server:
        # From the proxy: each forwarded address is its own client.
        assert await wrong_logins(server, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [422, 422, 422]
        assert await wrong_logins(server, ["198.51.100.9"] * 3) == [422, 422, 429]
        # From anywhere else, the header is not believed.
        assert await wrong_logins(server, ["198.51.100.4", "198.51.100.5", "198.51.100.6"], source="127.0.0.3") == [422, 422, 429]


@pytest.mark.parametrize("value", ["10.0.0.5", "10.0.0.0/24, ::1", "", " 127.0.0.1 ,192.0.2.1"])
def test_trusted_proxies_takes_addresses_and_networks(tmp_path, value):
    assert make_settings(tmp_path, trusted_proxies=value).trusted_proxies == value


def test_a_trusted_proxy_that_is_not_an_address_stops_start_up(tmp_path):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_settings(tmp_path, trusted_proxies="proxy.internal")

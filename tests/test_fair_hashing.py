"""Hashing shared fairly: a client holds at most HASH_PER_CLIENT hashing requests at once (429), everyone
HASH_QUEUE_LIMIT (503), refused before hashing; over real uvicorn, two flooding addresses do not delay a third."""

import asyncio
import json
import logging
import statistics
import time
from pathlib import Path

import httpx
import pytest

from conftest import CLIENT, CSRF_FIELD, HX, PASSWORD, count, create_user, link_sent, log_in, make_client, running_server, submit
from hxauth.passwords import Busy, ClientBusy, Hasher


async def test_a_slot_is_refused_over_the_clients_share_and_over_the_queue_and_given_back():
    hasher = Hasher(1, 8, 1, 1, per_client=2, queue_limit=3)
    async with hasher.slot("a"), hasher.slot("a"):
        with pytest.raises(ClientBusy):
            async with hasher.slot("a"):
                pass
        async with hasher.slot("b"):
            with pytest.raises(Busy) as refused:
                async with hasher.slot("c"):
                    pass
            assert refused.type is Busy and refused.value.status_code == 503
    async with hasher.slot("a"), hasher.slot("a"), hasher.slot("c"):  # every slot was given back
        pass


async def test_a_login_over_the_clients_share_is_a_429_at_once_counted_nowhere_and_logged(make_app, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    app = await make_app(hash_per_client=1)
    await create_user(app)
    async with make_client(app) as client, app.state.hasher.slot(CLIENT[0]):  # this address is hashing already
        response = await log_in(client, headers=HX)
        assert response.status_code == 429 and response.headers["retry-after"] == "1"
        assert "Too many requests from your address at once" in response.text
        signup = await submit(client, "/accounts/signup", {"name": "Bob", "email": "bob@example.com", "password": PASSWORD})
        assert signup.status_code == 429
        async with make_client(app, client=("198.51.100.9", 4000)) as other:  # another address is not held up
            assert (await log_in(other)).status_code == 303
    assert await count(app, "SELECT count(*) FROM rate_limit_hits") == 0
    assert await count(app, "SELECT count(*) FROM users") == 1
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "hxauth.audit"]
    assert [(e["event"], e["status"], e["client"]) for e in events if e["event"] == "hash.busy"] == [
        ("hash.busy", 429, CLIENT[0]), ("hash.busy", 429, CLIENT[0]),
    ]


async def test_a_new_password_through_a_reset_link_takes_a_slot_too(make_app):
    app = await make_app(hash_per_client=1)
    await create_user(app)
    async with make_client(app) as client:
        assert (await submit(client, "/accounts/reset-password", {"email": "ann@example.com"}, action="/accounts/reset-password")).status_code == 200
        link = await link_sent(app, "ann@example.com", "reset")
        async with app.state.hasher.slot(CLIENT[0]):
            refused = await submit(client, link, {"password": "a brand new passphrase for ann"}, action=link)
            assert refused.status_code == 429
        assert (await submit(client, link, {"password": "a brand new passphrase for ann"}, action=link)).status_code == 303


async def test_a_login_over_the_whole_queue_is_a_503_with_retry_after(make_app):
    app = await make_app(hash_queue_limit=1)
    await create_user(app)
    async with make_client(app) as client, app.state.hasher.slot("198.51.100.9"):
        response = await log_in(client)
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
    async with make_client(app) as client:
        assert (await log_in(client)).status_code == 303


# Over real uvicorn. Each address is its own loopback source (127/8 is all local on Linux); the server trusts
# no forwarded header from these, so the socket peer is the client.
SLOW_ARGON2 = {"argon2_time_cost": 3, "argon2_memory_kib": 65536, "hash_concurrency": 2}  # about 0.3 s a hash
NO_LIMITS = {"login_account_limit": 10**6, "login_client_limit": 10**6}


def browser(server, address):
    return httpx.AsyncClient(base_url=server, timeout=60, transport=httpx.AsyncHTTPTransport(local_address=address))


async def login_post(client, password=PASSWORD):
    token = CSRF_FIELD.search((await client.get("/accounts/login")).text).group(1)
    started = time.perf_counter()
    response = await client.post("/accounts/login", data={"csrf_token": token, "email": "ann@example.com", "password": password})
    return response, time.perf_counter() - started


def peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


async def test_two_flooding_addresses_do_not_delay_a_third_clients_login(tmp_path):
    with running_server(tmp_path, **SLOW_ARGON2, **NO_LIMITS) as server:
        await create_user(server)
        async with browser(server, "127.0.0.4") as third:
            alone = []
            for _ in range(3):
                response, seconds = await login_post(third)
                assert response.status_code == 303
                third.cookies.clear()
                alone.append(seconds)
            one_login = statistics.median(alone)

            async def flood(address):
                """24 wrong passwords at once from one address, again and again, until the third login is done."""
                async with browser(server, address) as client:
                    token = CSRF_FIELD.search((await client.get("/accounts/login")).text).group(1)
                    data = {"csrf_token": token, "email": "ann@example.com", "password": "wrong password here"}
                    statuses = []
                    for _ in range(20):
                        responses = await asyncio.gather(*[client.post("/accounts/login", data=data) for _ in range(24)])
                        statuses += [r.status_code for r in responses]
                        if done.is_set():
                            break
                    return statuses

            done = asyncio.Event()
            floods = [asyncio.create_task(flood(address)) for address in ("127.0.0.2", "127.0.0.3")]
            await asyncio.sleep(1)  # the floods are under way
            response, during = await login_post(third)
            done.set()
            flooded = await asyncio.gather(*floods)
        assert response.status_code == 303
        # Without the per-client share: 48 hashes ahead of it, about 22 logins' time here; with it at most 4 ahead:
        # 2.3 logins' time on a quiet machine, 8.8 once on a busy one (the floods' 429s cost CPU too).
        assert during < max(12 * one_login, 1.0), (during, one_login)
        for statuses in flooded:
            assert set(statuses) <= {422, 429} and statuses.count(429) > statuses.count(422)
        assert peak_rss_kib(server.pid) < 512 * 1024

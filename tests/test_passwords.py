"""Passwords: Argon2id off the event loop, bounded, with a dummy verify and a rehash."""

import asyncio
import threading

import pytest

from conftest import HX, create_user, log_in, make_client, make_settings
from hxauth.passwords import common_passwords, password_problem


def spy_on_verify(app, before):
    """Swap the app's argon2 PasswordHasher for one that calls `before(hash)` first, in the worker thread."""
    current = app.state.hasher._hasher

    class Spy(type(current)):
        def verify(self, password_hash, password):
            before(password_hash)
            return super().verify(password_hash, password)

    app.state.hasher._hasher = Spy.from_parameters(current._parameters)


@pytest.fixture
def blocking_verify(app):
    """Make every verify wait for `release`, and record how many run at once."""
    entered, release = threading.Semaphore(0), threading.Event()
    state = {"running": 0, "most": 0}
    lock = threading.Lock()

    def wait(password_hash):
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        entered.release()
        release.wait(timeout=30)
        with lock:
            state["running"] -= 1

    spy_on_verify(app, wait)
    yield entered, release, state
    release.set()


async def wait_for(semaphore: threading.Semaphore):
    assert await asyncio.to_thread(semaphore.acquire, timeout=10)


async def test_pages_are_served_while_a_login_is_hashing(app, client, user, blocking_verify):
    entered, release, _ = blocking_verify
    login = asyncio.create_task(log_in(client))
    await wait_for(entered)  # the verify is running now, and waiting
    async with make_client(app) as other:
        page = await other.get("/")
    assert page.status_code == 200
    assert not login.done()  # the page was served while the hash was still in progress
    release.set()
    assert (await login).status_code == 303


async def test_hashing_concurrency_is_bounded(tmp_path):
    from app import create_app

    app = create_app(make_settings(tmp_path, hash_concurrency=2))
    async with app.router.lifespan_context(app):
        await create_user(app)
        entered, release = threading.Semaphore(0), threading.Event()
        running, most, lock = [0], [0], threading.Lock()

        def wait(password_hash):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            entered.release()
            release.wait(timeout=30)
            with lock:
                running[0] -= 1

        spy_on_verify(app, wait)
        clients = [make_client(app) for _ in range(5)]
        logins = [asyncio.create_task(log_in(c)) for c in clients]
        await wait_for(entered)
        await wait_for(entered)
        limiter = app.state.hasher._limiter
        for _ in range(200):  # the other three queue on the limiter, not in threads
            if limiter.statistics().tasks_waiting == 3:
                break
            await asyncio.sleep(0.01)
        assert limiter.statistics().tasks_waiting == 3
        assert running[0] == 2
        release.set()
        assert [r.status_code for r in await asyncio.gather(*logins)] == [303] * 5
        assert most[0] == 2
        for c in clients:
            await c.aclose()


async def test_an_unknown_email_costs_one_verify_like_a_wrong_password(app, client, user):
    calls = []
    spy_on_verify(app, calls.append)
    await log_in(client, email="nobody@example.com")  # the first one may also make the dummy hash
    calls.clear()
    await log_in(client, email="nobody@example.com")
    assert len(calls) == 1
    await log_in(client, password="wrong password here")
    assert len(calls) == 2
    assert calls[0] != calls[1] and calls[0].startswith("$argon2id$")


async def test_hashes_made_with_old_parameters_are_replaced_at_login(tmp_path):
    from app import create_app

    old = create_app(make_settings(tmp_path))
    async with old.router.lifespan_context(old):
        await create_user(old)
        old_hash = await old.state.db.fetch_val("SELECT password_hash FROM users")
    new = create_app(make_settings(tmp_path, argon2_time_cost=2, argon2_memory_kib=16))
    async with new.router.lifespan_context(new), make_client(new) as client:
        assert (await log_in(client)).status_code == 303
        new_hash = await new.state.db.fetch_val("SELECT password_hash FROM users")
        assert new_hash != old_hash and "m=16,t=2" in new_hash
        await client.post("/accounts/logout", data={"csrf_token": (await client.get("/")).text.split('name="csrf_token" value="')[1][:64]})
        assert (await log_in(client)).status_code == 303  # the new hash verifies


@pytest.mark.parametrize(
    "password, min_length, problem",
    [
        ("a" * 14, 15, "at least 15"),
        ("a" * 15, 15, None),
        ("abcdefg", 8, "at least 8"),
        ("abcdefgh", 8, None),
        ("password", 8, "too common"),
        ("PassWord", 8, "too common"),
        ("qwertyuiop12345", 15, "too common"),
        ("x" * 1024, 15, None),
        ("x" * 1025, 15, "at most 1024"),
        ("no digits no symbols just words", 15, None),
        ("Ωμέγα-λέξεις-πάνω", 15, None),
    ],
)
def test_password_rules(password, min_length, problem):
    result = password_problem(password, min_length)
    assert (result is None) if problem is None else (problem in result)


def test_the_common_password_list_comes_from_a_package_and_is_large():
    passwords = common_passwords()
    assert len(passwords) >= 10_000
    assert {"123456", "password", "qwerty"} <= passwords


def test_the_minimum_length_is_a_setting_that_cannot_go_below_8(tmp_path):
    from hxauth.settings import ConfigError

    assert make_settings(tmp_path, password_min_length=8).password_min_length == 8
    with pytest.raises(ConfigError, match="at least 8"):
        make_settings(tmp_path, password_min_length=7)


async def test_a_configured_minimum_is_used_by_signup(tmp_path):
    from app import create_app
    from conftest import csrf_token

    app = create_app(make_settings(tmp_path, password_min_length=20))
    async with app.router.lifespan_context(app), make_client(app) as client:
        assert "At least 20 characters" in (await client.get("/accounts/signup")).text
        token = await csrf_token(client, "/accounts/signup")
        data = {"csrf_token": token, "name": "Bob", "email": "bob@example.com", "password": "b" * 19}
        response = await client.post("/accounts/signup", data=data, headers=HX)
        assert response.status_code == 422 and "at least 20" in response.text

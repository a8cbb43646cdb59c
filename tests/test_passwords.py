"""Passwords: Argon2id off the event loop, bounded, with a dummy verify and a rehash."""

import asyncio
import contextlib
import statistics
import threading
import time

import argon2
import pytest

from conftest import HX, create_user, create_user_in, log_in, make_client, make_settings, submit
from hxauth.passwords import common_passwords, password_problem


class Verifies:
    """argon2-cffi's `PasswordHasher.verify` as the apps' Hashers call it, watched: the hash each call checks,
    how many run at once, and (when `held`) each waits in its worker thread until the test lets it finish."""

    def __init__(self, held: bool):
        self.held = held
        self.hashes: list[str] = []
        self.running = self.most = 0
        self._lock = threading.Lock()
        self._finish = threading.Semaphore(0)
        self._loop = asyncio.get_running_loop()
        self._entries: asyncio.Queue[int] = asyncio.Queue()

    def wrap(self, verify):
        def watched(hasher, password_hash, password):
            with self._lock:
                self.hashes.append(password_hash)
                self.running += 1
                self.most = max(self.most, self.running)
                at_once = self.running
            self._loop.call_soon_threadsafe(self._entries.put_nowait, at_once)
            try:
                if self.held:
                    assert self._finish.acquire(timeout=30), "the test never let this verify finish"
                return verify(hasher, password_hash, password)
            finally:
                with self._lock:
                    self.running -= 1

        return watched

    async def started(self, number: int = 1) -> list[int]:
        """Wait for `number` more verifies to start; how many were running as each one started."""
        return [await asyncio.wait_for(self._entries.get(), 10) for _ in range(number)]

    def finish(self, number: int = 1):
        self._finish.release(number)


def watch_verifies(monkeypatch, held: bool) -> Verifies:
    verifies = Verifies(held)
    monkeypatch.setattr(argon2.PasswordHasher, "verify", verifies.wrap(argon2.PasswordHasher.verify))
    return verifies


@pytest.fixture
async def verifies(monkeypatch):
    """Every argon2 verify in the test, recorded."""
    return watch_verifies(monkeypatch, held=False)


@pytest.fixture
async def held_verifies(monkeypatch):
    """Every argon2 verify in the test, held until `finish()`."""
    verifies = watch_verifies(monkeypatch, held=True)
    yield verifies
    verifies.finish(100)  # nothing stays blocked in a worker thread if the test failed half-way


async def test_pages_are_served_while_a_login_is_hashing(app, client, user, held_verifies):
    login = asyncio.create_task(log_in(client))
    await held_verifies.started()  # the verify is running now, and waiting
    async with make_client(app) as other:
        page = await other.get("/")
    assert page.status_code == 200
    assert not login.done()  # the page was served while the hash was still in progress
    held_verifies.finish()
    assert (await login).status_code == 303


async def test_hashing_concurrency_is_bounded(make_app, held_verifies, monkeypatch):
    """Five logins at once with room for two: two verifies start, and each time one is let finish exactly one more
    starts, beside one other. Without the bound all five start at once (with room for five: [1, 2, 3, 4, 5])."""
    app = await make_app(hash_concurrency=2)
    await create_user(app)
    hasher, at_the_hasher = app.state.hasher, asyncio.Event()
    verify, arrived = hasher.verify, []

    async def counted_verify(*args):
        arrived.append(1)
        if len(arrived) == 5:
            at_the_hasher.set()
        return await verify(*args)

    monkeypatch.setattr(hasher, "verify", counted_verify)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(make_client(app, client=(f"203.0.113.{i}", 5000))) for i in range(5)]
        logins = [asyncio.create_task(log_in(client)) for client in clients]
        at_once = await held_verifies.started(2)
        await at_the_hasher.wait()  # all five logins are at the Hasher: two hashing, three waiting their turn
        for _ in range(3):  # each time one ends, the next begins, and never a third beside the two
            held_verifies.finish()
            at_once += await held_verifies.started()
        held_verifies.finish(2)
        assert [response.status_code for response in await asyncio.gather(*logins)] == [303] * 5
    assert sorted(at_once) == [1, 2, 2, 2, 2] and held_verifies.most == 2


async def test_an_unknown_email_costs_one_verify_like_a_wrong_password(client, user, verifies):
    await log_in(client, email="nobody@example.com")  # the first one may also make the dummy hash
    verifies.hashes.clear()
    await log_in(client, email="nobody@example.com")
    assert len(verifies.hashes) == 1
    await log_in(client, password="wrong password here")
    assert len(verifies.hashes) == 2
    dummy, real = verifies.hashes
    assert dummy != real and argon2.extract_parameters(dummy) == argon2.extract_parameters(real)


async def test_hashes_made_with_old_parameters_are_replaced_at_login(make_app):
    old = await make_app()
    await create_user(old)
    old_hash = await old.state.db.fetch_val("SELECT password_hash FROM users")
    parameters = argon2.extract_parameters(old_hash)
    assert (parameters.type, parameters.time_cost, parameters.memory_cost) == (argon2.Type.ID, 1, 8)  # FAST_ARGON2
    new = await make_app(argon2_time_cost=2, argon2_memory_kib=16)
    async with make_client(new) as client:
        assert (await log_in(client)).status_code == 303
        new_hash = await new.state.db.fetch_val("SELECT password_hash FROM users")
        parameters = argon2.extract_parameters(new_hash)
        assert (parameters.type, parameters.time_cost, parameters.memory_cost) == (argon2.Type.ID, 2, 16)
        assert (await submit(client, "/accounts/logout")).status_code == 303
        assert (await log_in(client)).status_code == 303  # the new hash verifies
        assert await new.state.db.fetch_val("SELECT password_hash FROM users") == new_hash  # and is kept


async def test_a_wrong_password_for_an_old_cheap_hash_costs_what_an_unknown_email_does(make_app):
    """After a parameter change, an account still on the old cheap hash must not answer a wrong password faster
    (without the extra verify: about 1 ms against 25 ms here). Medians of alternating tries, a generous ratio."""
    app = await make_app(argon2_time_cost=2, argon2_memory_kib=16384, login_account_limit=100, login_client_limit=100)
    await create_user_in(app.state.db)  # the tests' cheap parameters (time cost 1, 8 KiB): an "old" hash
    async with make_client(app) as client:
        await log_in(client, email="nobody@example.com")  # makes the dummy hash
        old_account, unknown = [], []
        for _ in range(9):
            for email, times in (("ann@example.com", old_account), ("nobody@example.com", unknown)):
                started = time.perf_counter()
                assert (await log_in(client, email=email, password="wrong password here")).status_code == 422
                times.append(time.perf_counter() - started)
    assert statistics.median(old_account) > 0.6 * statistics.median(unknown), (old_account, unknown)


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
        ("ｐａｓｓｗｏｒｄ", 8, "too common"),  # fullwidth: NFKC makes it "password"
        ("ＱＷＥＲＴＹuiop12345", 15, "too common"),
        ("e\u0301" * 1000, 15, None),  # 2000 code points, 1000 once composed: under the cap
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


async def test_a_configured_minimum_is_used_by_signup(make_app):
    app = await make_app(password_min_length=20)
    async with make_client(app) as client:
        assert "At least 20 characters" in (await client.get("/accounts/signup")).text
        data = {"name": "Bob", "email": "bob@example.com", "password": "b" * 19}
        response = await submit(client, "/accounts/signup", data, headers=HX)
        assert response.status_code == 422 and "at least 20" in response.text


async def test_a_password_of_combining_accents_accepted_at_signup_logs_in(make_app):
    """1200 code points typed, 600 once composed: signup judged the composed form, so login must take it too."""
    app = await make_app()
    accents = "e\u0301" * 600
    async with make_client(app) as client:
        signup = await submit(client, "/accounts/signup", {"name": "Zoé", "email": "zoe@example.com", "password": accents})
        assert signup.status_code == 303
        assert (await log_in(client, email="zoe@example.com", password=accents)).status_code == 303
        await submit(client, "/accounts/logout")
        assert (await log_in(client, email="zoe@example.com", password="\u00e9" * 600)).status_code == 303  # composed


async def test_a_listed_password_typed_in_fullwidth_is_refused_at_signup(make_app):
    app = await make_app(password_min_length=8)
    async with make_client(app) as client:
        data = {"name": "Bob", "email": "bob@example.com", "password": "ｐａｓｓｗｏｒｄ１２３"}
        response = await submit(client, "/accounts/signup", data, headers=HX)
        assert response.status_code == 422 and "too common" in response.text

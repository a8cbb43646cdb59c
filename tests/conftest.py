"""Fixtures: an app on a fresh database per test, an async client, users, and htmx headers.

The suite runs on a fresh SQLite file per test, or, with TEST_DATABASE_URL set
to a PostgreSQL URL, on that database with its schema emptied before each test.
"""

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app import create_app
from hxauth import accounts
from hxauth.settings import Settings

# Cheap Argon2 parameters: the tests check behaviour, not cost.
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}
PASSWORD = "correct horse battery staple"
HX = {"HX-Request": "true", "HX-Request-Type": "partial"}  # an hx-post swapping one element
BOOSTED = {"HX-Request": "true", "HX-Request-Type": "full", "HX-Boosted": "true"}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
POSTGRES = TEST_DATABASE_URL.startswith(("postgresql:", "postgres:"))
# Tests of SQLite's own files and connection settings: deselected (not skipped) on the PostgreSQL pass.
sqlite_only = pytest.mark.sqlite_only


def unavailable(reason: str):
    """A tool the test needs is missing: a failure in CI (CI=true), a skip with the reason elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: installing it is .ci/run's job)")
    pytest.skip(reason)


def database_url(tmp_path) -> str:
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'hxauth.db'}"


@pytest.fixture
async def unreachable_database():
    """A database object whose server is gone: every query fails to connect."""
    from hxauth.database import open_database

    if POSTGRES:
        database = open_database("postgresql://postgres@127.0.0.1:9/test", min_size=0)  # port 9: nothing listens
    else:
        database = open_database("sqlite:////nonexistent/folder/hxauth.db")
    await database.connect()
    yield database
    await database.disconnect()


def make_settings(tmp_path, **overrides) -> Settings:
    values = {"database_url": database_url(tmp_path), "secret_key": "test-" + "k" * 40, **FAST_ARGON2}
    return Settings(**{**values, **overrides})


async def _empty_postgres_schema():
    import asyncpg

    connection = await asyncpg.connect(TEST_DATABASE_URL, timeout=5)
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass, leave out the SQLite-only tests; and PostgreSQL must be there when asked for:
    a failure in CI, a clear skip on a laptop without it."""
    if not POSTGRES:
        return
    sqlite_tests = [item for item in items if item.get_closest_marker("sqlite_only")]
    if sqlite_tests:
        config.hook.pytest_deselected(items=sqlite_tests)
        items[:] = [item for item in items if not item.get_closest_marker("sqlite_only")]
    try:
        asyncio.run(_empty_postgres_schema())
    except Exception as error:
        message = f"TEST_DATABASE_URL={TEST_DATABASE_URL} is unreachable: {error!r}"
        if os.environ.get("CI") == "true":
            raise pytest.UsageError(message) from None
        for item in items:
            item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture(autouse=True)
async def clean_database():
    if POSTGRES:
        await _empty_postgres_schema()


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


@pytest.fixture
async def app(settings):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def make_client(app, base_url="http://testserver") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=("203.0.113.7", 5000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.fixture
async def client(app):
    async with make_client(app) as client:
        yield client


async def csrf_token(client, page="/accounts/login") -> str:
    """The token a browser would find in the page's forms."""
    response = await client.get(page)
    return CSRF_FIELD.search(response.text).group(1)


async def create_user(app, name="Ann", email="ann@example.com", password=PASSWORD) -> int:
    return await accounts.register_user(app.state, name=name, email=email, password=password)


@pytest.fixture
async def user(app):
    user_id = await create_user(app)
    return {"id": user_id, "name": "Ann", "email": "ann@example.com", "password": PASSWORD}


async def log_in(client, email="ann@example.com", password=PASSWORD, headers=None, **extra):
    token = await csrf_token(client)
    data = {"csrf_token": token, "email": email, "password": password, **extra}
    return await client.post("/accounts/login", data=data, headers=headers)


@pytest.fixture
async def logged_in(client, user):
    """The client, logged in as `user`."""
    response = await log_in(client)
    assert response.status_code == 303
    return client


async def count(app, sql: str, values: dict | None = None) -> int:
    return await app.state.db.fetch_val(sql, values or {})


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(tmp_path, **settings):
    """A real `uvicorn app:app` on a free port; yields its base URL. `settings` become environment variables."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(tmp_path),
        "SECRET_KEY": "server-test-" + "s" * 40,
        "ENV": "development",
        **{name.upper(): str(value) for name, value in {**FAST_ARGON2, **settings}.items()},
    }
    log = tmp_path / f"server-{port}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=Path(__file__).resolve().parent.parent, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start:\n" + log.read_text())
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def server(tmp_path):
    """A real `uvicorn app:app` on a free port, on its own database; yields its base URL."""
    with running_server(tmp_path) as url:
        yield url

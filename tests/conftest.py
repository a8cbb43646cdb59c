"""Fixtures: an app on a fresh SQLite file per test, an async client, users, and htmx headers."""

import re

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


def make_settings(tmp_path, **overrides) -> Settings:
    values = {"database_url": f"sqlite:///{tmp_path / 'hxauth.db'}", "secret_key": "test-" + "k" * 40, **FAST_ARGON2}
    return Settings(**{**values, **overrides})


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
    state = app.state
    return await accounts.register_user(state.db, state.queries, state.hasher, name=name, email=email, password=password)


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


@pytest.fixture
def server(tmp_path):
    """A real `uvicorn app:app` on a free port, on its own SQLite file; yields its base URL."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
        "SECRET_KEY": "server-test-" + "s" * 40,
        "ENV": "development",
        **{name.upper(): str(value) for name, value in FAST_ARGON2.items()},
    }
    log = tmp_path / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=Path(__file__).resolve().parent.parent, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/static/app.css", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("uvicorn did not start:\n" + log.read_text())
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)

"""Fixtures: an app on a fresh database per test, async clients, users, and htmx headers.

The suite runs on a fresh SQLite file per test, or, with TEST_DATABASE_URL set
to a PostgreSQL URL, on that database with its schema emptied before each test.
Form submission and the real-server runner are in tests/helpers.py (re-exported here).
"""

import asyncio
import contextlib
import dataclasses
import os
import re
import shutil
import tempfile

# Importing app.py builds its module-level app from the environment. Give that app a secret and a database
# outside the checkout first, so that a test run neither reads the shell's settings (ENV=production, a real
# DATABASE_URL) nor writes var/secret_key. Subprocesses (running_server) get their own values.
_SCRATCH = tempfile.mkdtemp(prefix="hxauth-tests-")
IMPORT_ENVIRONMENT = {
    "ENV": "development",
    "SECRET_KEY": "import-" + "i" * 40,
    "DATABASE_URL": f"sqlite:///{_SCRATCH}/never-opened.db",
}
os.environ.update(IMPORT_ENVIRONMENT)

import httpx
import pytest
from starlette.datastructures import State

from app import create_app
from helpers import (  # re-exported: tests import them from conftest
    CSRF_FIELD,
    FAST_ARGON2,
    POSTGRES,
    TEST_DATABASE_URL,
    Form,
    Server,
    csrf_token,
    database_url,
    free_port,
    migrate_up_to,
    post_forms,
    running_server,
    submit,
)
from hxauth import accounts
from mailserver import SMTPServer, html_of, link_in, text_of  # noqa: F401 (re-exported)
from hxauth.database import open_database
from hxauth.passwords import Hasher
from hxauth.queries import Queries
from hxauth.settings import Settings

PASSWORD = "correct horse battery staple"
HX = {"HX-Request": "true", "HX-Request-Type": "partial"}  # an hx-post swapping one element
BOOSTED = {"HX-Request": "true", "HX-Request-Type": "full", "HX-Boosted": "true"}
CLIENT = ("203.0.113.7", 5000)  # where make_client's requests come from, unless told otherwise

# Tests of SQLite's own files and connection settings: deselected (not skipped) on the PostgreSQL pass.
sqlite_only = pytest.mark.sqlite_only


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SCRATCH, ignore_errors=True)


def unavailable(reason: str):
    """A tool the test needs is missing: a failure in CI (CI=true), a skip with the reason elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: installing it is .ci/run's job)")
    pytest.skip(reason)


# The PostgreSQL pass: one database, its schema emptied before each test.


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
async def unreachable_database():
    """A database object whose server is gone: every query fails to connect."""
    if POSTGRES:
        database = open_database("postgresql://postgres@127.0.0.1:9/test", min_size=0)  # port 9: nothing listens
    else:
        database = open_database("sqlite:////nonexistent/folder/hxauth.db")
    await database.connect()
    yield database
    await database.disconnect()


# Apps and clients.


def make_settings(tmp_path, **overrides) -> Settings:
    values = {
        "database_url": database_url(tmp_path),
        "secret_key": "test-" + "k" * 40,
        "mail_poll_seconds": 0.05,  # the sender (when mail_url is set) looks for new messages at once
        **FAST_ARGON2,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


@pytest.fixture
async def make_app(settings):
    """`app = await make_app(login_account_limit=3)`: an app with `settings` and these overrides, started
    (migrated, connected); every app made is shut down at the end of the test. All share the test's database."""
    async with contextlib.AsyncExitStack() as running:

        async def make(**overrides):
            app = create_app(dataclasses.replace(settings, **overrides))
            await running.enter_async_context(app.router.lifespan_context(app))
            return app

        yield make


@pytest.fixture
async def app(make_app):
    return await make_app()


def make_client(app, base_url="http://testserver", client=CLIENT) -> httpx.AsyncClient:
    """A browser talking to `app` in-process, from the address `client` (host, port)."""
    transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=client)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.fixture
async def client(app):
    async with make_client(app) as client:
        yield client


# Users: made through hxauth.accounts, as signup makes them, never through the signup form or raw SQL.


async def create_user_in(db, name="Ann", email="ann@example.com", password=PASSWORD, *, queries=None, hasher=None, settings=None) -> int:
    """A new account in an open, migrated database (by default with the tests' cheap Argon2 parameters); its id.

    As at signup, its confirmation message is queued in the outbox (with `settings`' BASE_URL)."""
    fast = Hasher(FAST_ARGON2["argon2_time_cost"], FAST_ARGON2["argon2_memory_kib"], FAST_ARGON2["argon2_parallelism"], 1)
    state = State({"db": db, "queries": queries or Queries(), "hasher": hasher or fast, "settings": settings or Settings()})
    return await accounts.register_user(state, name=name, email=email, password=password)


async def create_user(app, name="Ann", email="ann@example.com", password=PASSWORD) -> int:
    """A new account on `app`'s database with its hasher, or on a real server's (a `Server` from running_server); its id."""
    if isinstance(app, Server):
        async with open_database(app.database_url) as db:
            return await create_user_in(db, name, email, password)
    state = app.state
    return await create_user_in(state.db, name, email, password, queries=state.queries, hasher=state.hasher, settings=state.settings)


@pytest.fixture
async def user(app):
    user_id = await create_user(app)
    return {"id": user_id, "name": "Ann", "email": "ann@example.com", "password": PASSWORD}


async def log_in(client, email="ann@example.com", password=PASSWORD, headers=None, **extra):
    """Fill in and send the login form (extra fields, e.g. next=..., go with it)."""
    return await submit(client, "/accounts/login", {"email": email, "password": password, **extra}, headers=headers)


@pytest.fixture
async def logged_in(client, user):
    """The client, logged in as `user`."""
    response = await log_in(client)
    assert response.status_code == 303
    return client


async def count(app, sql: str, values: dict | None = None) -> int:
    return await app.state.db.fetch_val(sql, values or {})


# Mail the app queued (the outbox), as the tests read it without an SMTP server.

LINK = re.compile(r"http://localhost:8000(/accounts/[A-Za-z0-9/_-]+)")  # BASE_URL's default in the tests


async def messages_to(app, to: str) -> list[dict]:
    """Messages in `app`'s outbox for `to`, oldest first: each a dict with `subject` and `text`."""
    rows = await app.state.db.fetch_all(
        "SELECT subject, text_body FROM outbox WHERE recipient = :to ORDER BY id", {"to": to}
    )
    return [{"subject": row["subject"], "text": row["text_body"]} for row in rows]


async def link_sent(app, to: str, purpose: str) -> str:
    """The path (with its token) of the newest link for `purpose` ('confirm' or 'reset') mailed to `to`."""
    prefix = {"confirm": "/accounts/confirm/", "reset": "/accounts/reset-password/"}[purpose]
    for message in reversed(await messages_to(app, to)):
        for path in LINK.findall(message["text"]):
            if path.startswith(prefix):
                return path
    raise AssertionError(f"no {purpose} link was mailed to {to}")


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free loopback port (tests/mailserver.py); `make_app(mail_url=smtp_server.url)`."""
    smtp = SMTPServer()
    smtp.start()
    yield smtp
    smtp.stop()


@pytest.fixture
def server(tmp_path):
    """A real `uvicorn app:app` on a free port, on its own database; yields its base URL."""
    with running_server(tmp_path) as url:
        yield url

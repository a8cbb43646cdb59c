"""What the tests do as a browser would, in-process or over a socket: submit a page's form, run a real uvicorn.

Nothing here is a fixture, and nothing imports `app`: tests/conftest.py
imports these (and re-exports them, so `from conftest import submit` works too).
"""

import contextlib
import dataclasses
import html.parser
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from uvicorn_options import uvicorn_options

ROOT = Path(__file__).resolve().parent.parent
# Cheap Argon2 parameters: the tests check behaviour, not cost.
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
POSTGRES = TEST_DATABASE_URL.startswith(("postgresql:", "postgres:"))


def database_url(tmp_path) -> str:
    """The test's database: a fresh SQLite file in its tmp_path, or the PostgreSQL one (emptied before each test)."""
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'hxauth.db'}"


async def migrate_up_to(db, tmp_path, first_not_applied: str) -> None:
    """Apply the migrations numbered below `first_not_applied` ("0011"): a live database as it was before that one,
    to test what the migration does to its rows."""
    import shutil

    from hxauth.migrations import MIGRATIONS, migrate

    before = tmp_path / f"before-{first_not_applied}"
    before.mkdir()
    for path in MIGRATIONS.glob("*.sql"):
        if path.name < first_not_applied:
            shutil.copy(path, before / path.name)
    await migrate(db, before)


@dataclasses.dataclass
class Form:
    """A POST form on a page: where it goes and what its hidden fields hold (the csrf_token among them)."""

    action: str
    hidden: dict[str, str]
    shown: bool = True  # False: the form has the `hidden` attribute (a script shows it: the passkey forms)


class _FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []
        self._open: Form | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._open = Form(attrs.get("action") or "", {}, shown="hidden" not in attrs)
            self.forms.append(self._open)
        elif tag == "input" and self._open and attrs.get("type") == "hidden" and attrs.get("name"):
            self._open.hidden[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def post_forms(response: httpx.Response) -> list[Form]:
    """The POST forms of a page, in document order; a page without any is an error that says what came back."""
    parser = _FormParser()
    parser.feed(response.text)
    if not parser.forms:
        raise AssertionError(f"{response.request.method} {response.request.url} answered {response.status_code} with no form to submit")
    return parser.forms


async def submit(client, page: str, data: dict | None = None, *, action: str | None = None, headers: dict | None = None) -> httpx.Response:
    """What a browser does: load `page`, fill in its form and post it.

    The post carries the form's hidden fields (its csrf_token, a login form's
    `next`) and `data` on top; a value of None leaves that field out. It goes to
    the form's action (the page must then have one shown: a form with the `hidden` attribute counts only by its
    `action`), or to `action`: with that form's hidden fields if the page
    has a form for it, else with only the token of its first form (the token is
    the session's, the same in every form). `client` is an httpx.AsyncClient,
    in-process (make_client) or on a real server.
    """
    forms = post_forms(await client.get(page))
    if action is None:
        forms = [form for form in forms if form.shown] or forms  # a person fills in the forms they see
    if action is None and len({form.action for form in forms}) > 1:
        # A logged-in page also has the header's "Log out" form: posting to the first form would log out.
        raise AssertionError(f"{page} has forms for {sorted({form.action for form in forms})}: say which with action=")
    form = next((form for form in forms if form.action == (action or form.action)), None)
    hidden = form.hidden if form else {"csrf_token": forms[0].hidden["csrf_token"]}
    fields = {**hidden, **(data or {})}
    return await client.post(
        action or forms[0].action, data={name: value for name, value in fields.items() if value is not None}, headers=headers
    )


async def csrf_token(client, page: str = "/accounts/login") -> str:
    """The token a browser would find in the page's forms."""
    return post_forms(await client.get(page))[0].hidden["csrf_token"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server(str):
    """A running server's base URL (a plain string to httpx and Playwright) that also knows its database and process id."""

    database_url: str
    pid: int


@contextlib.contextmanager
def running_server(tmp_path, *, localhost=False, limit_concurrency: int | None = None, **settings):
    """A real `uvicorn app:app` on a free port, on the test's database; yields its base URL (a `Server`).

    Run as `make run` runs it (the Makefile's UVICORN_OPTIONS, `limit_concurrency` in place of its
    --limit-concurrency if given); `settings` become environment variables. It is ready (migrated) when
    this yields. `localhost`: the URL (and BASE_URL) is http://localhost:<port>, as WebAuthn needs (it
    refuses IP-address origins); the socket is 127.0.0.1's either way."""
    port = free_port()
    if localhost:
        settings = {"base_url": f"http://localhost:{port}", **settings}
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
            [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port), *uvicorn_options(limit_concurrency)],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    url = Server(f"http://{'localhost' if localhost else '127.0.0.1'}:{port}")
    url.database_url = env["DATABASE_URL"]
    url.pid = process.pid
    try:
        deadline = time.monotonic() + 30  # a wait for start-up, not a measurement: a slow start is not a failure
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
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

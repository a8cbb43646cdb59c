"""The servers under test: uvicorn processes, their CPUs, databases and bench user, a baseline checkout, /proc sampling."""

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
NAME, EMAIL, PASSWORD = "Bench", "bench@example.com", "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')

# The page targets run with the server on one CPU and the load generator on the others: left to the
# scheduler, the two sometimes share a CPU, and since the load generator's work grows with the req/s,
# that shrinks the floor far more than the app and moved the ratios by a third from one run to the next.
ALL_CPUS = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
SERVER_CPUS = {max(ALL_CPUS)} if len(ALL_CPUS) >= 2 else ALL_CPUS
LOAD_CPUS = ALL_CPUS - SERVER_CPUS or ALL_CPUS


def set_cpus(pid: int, cpus: set) -> None:
    """Move every thread of a process to `cpus` (threads it starts later inherit them)."""
    if not cpus:
        return
    for thread in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(thread), cpus)
        except ProcessLookupError:
            pass  # the thread has ended


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`uvicorn MODULE:app` on a free loopback port: one worker, no access log (for every server alike).

    `cwd` is the checkout it serves (a baseline's worktree, with PYTHONPATH set to it in `env`); `options`, more
    of uvicorn's (hxauth's apps get the Makefile's UVICORN_OPTIONS: see bench/run.py)."""

    def __init__(self, app: str, env: dict, log: Path, cwd: Path = ROOT, options: list[str] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(self.port),
                   "--no-access-log", "--log-level", "warning", *options]
        self.log = log
        with open(log, "wb") as output:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/", timeout=2)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{app} did not start:\n{log.read_text()}") from None
                time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRSS:
    """Samples a process's resident set size every 20 ms while in use; `.peak` in MB."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while True:
            self.peak = max(self.peak, rss_mb(self.pid))
            if self._stop.wait(0.02):
                return

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def settle(server: Server, window: float = 0.3, timeout: float = 120):
    """Wait until the server is idle (under 10% of a core for `window` seconds): a storm's abandoned
    logins keep hashing after the load generator has gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(server.pid)
        time.sleep(window)
        if cpu_seconds(server.pid) - before < window * 0.1:
            return
    raise RuntimeError("the server stayed busy after its load ended")


def form_page(client: httpx.Client, path: str) -> str:
    response = client.get(path)
    response.raise_for_status()
    return CSRF_FIELD.search(response.text).group(1)


def prepare(app: Server) -> dict:
    """Sign the bench user up and log in, over HTTP as a browser would; returns the requests to replay."""
    with httpx.Client(base_url=app.url) as client:
        token = form_page(client, "/accounts/signup")
        response = client.post("/accounts/signup", data={"csrf_token": token, "name": NAME, "email": EMAIL, "password": PASSWORD})
        assert response.status_code == 303, f"signup: {response.status_code} {response.text[:500]}"
    with httpx.Client(base_url=app.url) as client:
        token = form_page(client, "/accounts/login")
        response = client.post("/accounts/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD})
        assert response.status_code == 303, f"login: {response.status_code}"
        logged_in = f"Cookie: session={client.cookies['session']}"
    with httpx.Client(base_url=app.url) as client:  # an anonymous visitor, holding the login form
        token = form_page(client, "/accounts/login")
        login = {
            "method": "POST",
            "body": urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/"}),
            "headers": (f"Cookie: session={client.cookies['session']}", "Content-Type: application/x-www-form-urlencoded"),
        }
    return {"logged_in": logged_in, "login": login, "home_bytes": len(httpx.get(app.url + "/").content)}


def check_requests(app: Server, prepared: dict):
    """The replayed requests still do what they are meant to: a logged-in page, a successful login."""
    name, _, value = prepared["logged_in"].partition(": ")
    page = httpx.get(app.url + "/", headers={name: value})
    assert f"Hi {NAME}!" in page.text, "the logged-in cookie no longer logs in"
    login = prepared["login"]
    headers = dict(header.split(": ", 1) for header in login["headers"])
    response = httpx.post(app.url + "/accounts/login", content=login["body"], headers=headers)
    assert response.status_code == 303, f"the replayed login answers {response.status_code}"


def empty_postgres(url: str) -> str | None:
    """Make `url`'s database exist and its schema empty, so the app migrates from scratch; None if that
    worked, else why not (no server answers, say)."""
    import asyncpg

    async def empty():
        try:
            connection = await asyncpg.connect(url, timeout=5)
        except asyncpg.InvalidCatalogNameError:  # the server answers, the database is missing: create it
            parts = urlsplit(url)
            name = parts.path.lstrip("/")
            admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=5)
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
            finally:
                await admin.close()
            connection = await asyncpg.connect(url, timeout=5)
        try:
            await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
        finally:
            await connection.close()

    try:
        asyncio.run(empty())
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as error:
        return f"{type(error).__name__}: {error}"
    return None


@contextlib.contextmanager
def baseline_checkout(rev: str):
    """REV checked out into a temporary git worktree (removed afterwards), with this checkout's node_modules."""
    folder = Path(tempfile.mkdtemp(prefix="hxauth-baseline-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(folder), rev], check=True)
    try:
        (folder / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)

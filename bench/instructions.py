"""Instructions per page, in-process, under callgrind: repeatable to a fraction of a percent, where req/s on this
machine moves by 10% between two runs of the same code.

    .venv/bin/python -m bench.instructions                    # this checkout
    .venv/bin/python -m bench.instructions --checkout DIR     # another one (a `git worktree add DIR cf17144`)

It runs itself under `valgrind --tool=callgrind` (the child, `--child`), with the app of the checkout built
from a scratch environment (ENV=production, a fresh SQLite file, fast Argon2 for the sign-up), its lifespan
run, the bench user signed up and logged in. Then `--warmup` requests of every page (templates compiled,
query plans checked), and for each page `--requests` measured ones, each a plain ASGI call (no client, no socket).
Run it with the checkout's own Python (its .venv, from its own `make install`) to measure it on its own packages.

How the measured requests are told apart from the rest (imports, start-up, warm-up): callgrind is started
with `--zero-before=getpgrp --dump-before=getsid`, and the child calls `os.getpgrp()` just before a page's
measured requests (counters to zero) and `os.getsid(0)` just after (the counts so far written to a file of
their own). Neither is called by anything else here. Each dump's total, divided by the requests, is the figure;
`callgrind_annotate` on the dump files (kept with `--keep DIR`) says where it goes.
"""

import argparse
import asyncio
import gc
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["home_anonymous", "home_logged_in", "login_page"]
CSRF_FIELD = re.compile(rb'name="csrf_token" value="([0-9a-f]{64})"')
COOKIE = re.compile(rb"^(session=[^;]*)")


async def call(app, method: str, path: str, headers=(), body: bytes = b"") -> tuple[int, dict, bytes]:
    """One request straight into the ASGI app: status, response headers (last of each name), body."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers], "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }
    sent = False
    answer = {"status": 0, "headers": {}, "body": b""}

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # a client that stays connected

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {name: value for name, value in message.get("headers", ())}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["headers"], answer["body"]


async def post_form(app, path: str, cookie: bytes, fields: dict) -> tuple[int, dict, bytes]:
    headers = [(b"cookie", cookie), (b"content-type", b"application/x-www-form-urlencoded"), (b"origin", b"http://127.0.0.1:8000")]
    return await call(app, "POST", path, headers, urlencode(fields).encode())


async def form(app, path: str) -> tuple[bytes, bytes]:
    """A new visitor's cookie and the CSRF token of the form at `path`."""
    status, headers, body = await call(app, "GET", path)
    assert status == 200, (path, status)
    return COOKIE.match(headers[b"set-cookie"]).group(1), CSRF_FIELD.search(body).group(1).decode()


async def child(pages: list[str], warmup: int, requests: int) -> None:
    from app import create_app  # the checkout's own, by sys.path

    app = create_app()
    async with app.router.lifespan_context(app):
        user = {"name": "Bench", "email": "bench@example.com", "password": "correct horse battery staple"}
        cookie, token = await form(app, "/accounts/signup")
        status, _, _ = await post_form(app, "/accounts/signup", cookie, {"csrf_token": token, **user})
        assert status == 303, f"signup: {status}"
        cookie, token = await form(app, "/accounts/login")
        status, headers, _ = await post_form(app, "/accounts/login", cookie, {"csrf_token": token, "email": user["email"], "password": user["password"]})
        assert status == 303, f"login: {status}"
        logged_in = COOKIE.match(headers[b"set-cookie"]).group(1)
        requests_of = {
            "home_anonymous": ("/", []),
            "home_logged_in": ("/", [(b"cookie", logged_in)]),
            "login_page": ("/accounts/login", []),
        }
        status, _, body = await call(app, "GET", "/", [(b"cookie", logged_in)])
        assert status == 200 and b"Hi Bench!" in body, "the logged-in cookie does not log in"
        # Every page warmed up before any is measured: the first page's window otherwise carries about 10M
        # instructions of start-up work that finishes late (seen as +38k a request on whichever page came first).
        for path, headers in requests_of.values():
            for _ in range(warmup):
                await call(app, "GET", path, headers)
        # A window thrown away: whichever window comes first measures about 11M instructions more, whatever
        # its page and length (unexplained; the ones after it agree with each other to 0.1%).
        os.getpgrp()
        await call(app, "GET", "/")
        os.getsid(0)
        for page in pages:
            path, headers = requests_of[page]
            gc.collect()  # each window starts with the same empty young generations
            for _ in range(10):
                await call(app, "GET", path, headers)
            os.getpgrp()  # callgrind: counters to zero
            for _ in range(requests):
                await call(app, "GET", path, headers)
            os.getsid(0)  # callgrind: dump this page's counts


def total_instructions(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError(f"no total in {dump}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the checkout whose app.py to measure (default: this one)")
    parser.add_argument("--pages", nargs="+", default=PAGES, choices=PAGES)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="keep the callgrind files here, for callgrind_annotate")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        sys.path.insert(0, str(options.checkout))
        os.chdir(options.checkout)
        asyncio.run(child(options.pages, options.warmup, options.requests))
        return

    with tempfile.TemporaryDirectory(prefix="hxauth-instructions-") as tmp:
        out = options.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PYTHONPATH": str(options.checkout),
            "ENV": "production", "DEBUG": "false",
            "SECRET_KEY": "bench-" + "b" * 48,
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'instructions.db'}",
            "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "8", "ARGON2_PARALLELISM": "1",
            # Required in production once mail is there (as in bench/run.py); nothing listens, no page sends mail.
            "MAIL_URL": "smtp://127.0.0.1:9", "BASE_URL": "http://localhost:8000",
        }
        prefix = out / "callgrind.out"
        for old in out.glob("callgrind.out*"):
            old.unlink()
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={prefix}", "--zero-before=getpgrp",
                   "--dump-before=getsid", "--compress-strings=no", sys.executable, "-m", "bench.instructions", "--child",
                   "--checkout", str(options.checkout), "--warmup", str(options.warmup),
                   "--requests", str(options.requests), "--pages", *options.pages]
        subprocess.run(command, cwd=ROOT, env=env, check=True, stderr=subprocess.DEVNULL)
        dumps = sorted(out.glob("callgrind.out.*"), key=lambda path: int(path.name.rsplit(".", 1)[1]))
        dumps = dumps[1:]  # the window thrown away
        if len(dumps) != len(options.pages):
            sys.exit(f"expected {len(options.pages)} dumps, found {[dump.name for dump in dumps]}")
        for page, dump in zip(options.pages, dumps):
            print(f"{page:16} {total_instructions(dump) / options.requests:10,.0f} instructions a request   ({dump})")


if __name__ == "__main__":
    main()

"""deploy/nginx.conf, the production set-up of docs/deploy.md, run as shipped in front of a real uvicorn: Debian's
nginx (.ci/run installs nginx-light) with only the file's CHANGE lines replaced (ports, certificate, upstream).

Each test fails if the protection it names is taken out of the file: slow request heads are cut off before uvicorn
sees them, requests in progress are limited per address, a client's own X-Forwarded-For is never believed, huge
bodies and headers are refused at the proxy, and the app sees Host and the https scheme."""

import asyncio
import contextlib
import grp
import os
import pwd
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import trustme

from conftest import CSRF_FIELD, PASSWORD, create_user, free_port, running_server, unavailable

SHIPPED = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_PAGE = "<hr><center>nginx</center>"  # nginx's own error pages (server_tokens off): the request never reached uvicorn
# Other loopback addresses are other clients to nginx: limit_conn counts per address, the app limits per address.
CLIENT, OTHER_CLIENT = "127.0.0.2", "127.0.0.3"


class Proxy(str):
    """The proxy's https base URL; also its plain-http URL, the port, and a client TLS context trusting its certificate."""

    http: str
    port: int
    tls: ssl.SSLContext


def render(shipped: str, replacements: dict[str, str]) -> str:
    """The shipped file with its site-specific lines replaced; each must be there exactly once, so the test and
    the file cannot drift apart."""
    for old, new in replacements.items():
        assert shipped.count(old) == 1, f"deploy/nginx.conf should have {old!r} exactly once"
        shipped = shipped.replace(old, new)
    return shipped


@contextlib.contextmanager
def running_nginx(tmp_path, upstream: str):
    """Debian's nginx, as a child process on free loopback ports, serving deploy/nginx.conf in front of `upstream`.

    The http {} around it is the test's (as an operator's is their distribution's nginx.conf): every file nginx
    writes is under tmp_path. Yields its https URL (a `Proxy`)."""
    if not os.access(NGINX, os.X_OK):
        unavailable(f"nginx is not installed ({NGINX}; apt-get install nginx-light)")
    home = tmp_path / "nginx"
    home.mkdir()
    ca = trustme.CA()
    certificate = ca.issue_cert("localhost", "127.0.0.1")
    certificate.private_key_and_cert_chain_pem.write_to_path(home / "site.pem")
    https_port, http_port = free_port(), free_port()
    site = render(SHIPPED.read_text(), {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "/etc/letsencrypt/live/example.com/fullchain.pem": str(home / "site.pem"),
        "/etc/letsencrypt/live/example.com/privkey.pem": str(home / "site.pem"),
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream.rsplit(':', 1)[1]};",
    })
    (home / "hxauth.conf").write_text(site)
    # As root nginx's workers would run as nobody, who cannot reach pytest's tmp_path: run them as ourselves.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};" if os.geteuid() == 0 else ""
    temp_paths = "".join(f"{kind}_temp_path {home / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (home / "nginx.conf").write_text(
        f"{user}\nworker_processes 1;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n{temp_paths}access_log {home / 'access.log'};\ninclude {home / 'hxauth.conf'};\n}}\n"
    )
    main = f"daemon off; pid {home / 'nginx.pid'}; error_log {home / 'error.log'} info;"
    with open(home / "output.log", "wb") as output:
        process = subprocess.Popen([NGINX, "-p", str(home), "-c", str(home / "nginx.conf"), "-g", main], stdout=output, stderr=subprocess.STDOUT)
    proxy = Proxy(f"https://127.0.0.1:{https_port}")
    proxy.http, proxy.port = f"http://127.0.0.1:{http_port}", https_port
    proxy.tls = ssl.create_default_context()
    ca.configure_trust(proxy.tls)
    try:
        deadline = time.monotonic() + 30  # a wait for start-up, not a measurement
        while True:
            try:
                if httpx.get(proxy + "/readyz", verify=proxy.tls, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                logs = [home / "output.log", home / "error.log"]
                raise RuntimeError("nginx did not start:\n" + "".join(log.read_text() for log in logs if log.exists()))
            time.sleep(0.1)
        yield proxy
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.asynccontextmanager
async def browser(proxy: Proxy, source: str = "127.0.0.1"):
    """An https client of the proxy from the loopback address `source`."""
    transport = httpx.AsyncHTTPTransport(verify=proxy.tls, local_address=source)
    async with httpx.AsyncClient(base_url=proxy, transport=transport, timeout=30) as client:
        yield client


async def connect(proxy: Proxy, source: str):
    """A raw TLS connection to the proxy from `source`: (reader, writer)."""
    return await asyncio.open_connection("127.0.0.1", proxy.port, ssl=proxy.tls, server_hostname="localhost", local_addr=(source, 0))


async def log_in(client, email="ann@example.com", password=PASSWORD, headers=None) -> httpx.Response:
    token = CSRF_FIELD.search((await client.get("/accounts/login")).text).group(1)
    return await client.post("/accounts/login", data={"csrf_token": token, "email": email, "password": password}, headers=headers)


async def closed_by_server(reader, within: float) -> bool:
    """Whether the server hangs up (end of stream or a reset) within `within` seconds; anything it sends is read past."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(4096):
                pass
    except TimeoutError:
        return False
    except (ConnectionError, ssl.SSLError):
        pass
    return True


async def test_request_heads_trickled_a_byte_at_a_time_are_cut_off_at_the_proxy_and_never_take_uvicorns_slots(tmp_path):
    # uvicorn with room for 5 connections: 30 slow clients would fill it (it has no timeout for a request's head).
    with running_server(tmp_path, limit_concurrency=5, trusted_proxies="127.0.0.1") as server, running_nginx(tmp_path, server) as proxy:
        await create_user(server)
        started = time.monotonic()
        slow = [await connect(proxy, CLIENT) for _ in range(30)]

        async def trickle(writer):
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                for byte in b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 1000:  # 0.5 s a byte: 9 minutes
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.5)

        senders = [asyncio.create_task(trickle(writer)) for _, writer in slow]
        await asyncio.sleep(2)  # the slow clients are well into their heads
        async with browser(proxy) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await log_in(client)).status_code == 303
        # client_header_timeout 10s; nginx's default is 60 s. The bound is generous: only "well before a minute" counts.
        cut_off = await asyncio.gather(*(closed_by_server(reader, 40 - (time.monotonic() - started)) for reader, _ in slow))
        assert all(cut_off), f"{cut_off.count(False)} of 30 slow request heads still open after 40 s"
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        for _, writer in slow:
            writer.close()


async def test_requests_in_progress_are_limited_per_address_at_the_proxy_and_never_reach_uvicorn(tmp_path):
    # 20 forms whose bodies are on their way (nginx said "100 Continue": each is counted), from one address.
    with running_server(tmp_path, limit_concurrency=5, trusted_proxies="127.0.0.1") as server, running_nginx(tmp_path, server) as proxy:
        await create_user(server)
        head = (b"POST /accounts/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n")

        async def start_form():
            reader, writer = await connect(proxy, CLIENT)
            writer.write(head)
            await writer.drain()
            return reader, writer, await asyncio.wait_for(reader.readline(), 10)

        async def trickle(writer):  # a byte a second: client_body_timeout (10 s between reads) never ends it
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                for _ in range(1000):
                    writer.write(b"a")
                    await writer.drain()
                    await asyncio.sleep(1)

        held = [await start_form() for _ in range(20)]
        assert [status for _, _, status in held] == [b"HTTP/1.1 100 Continue\r\n"] * 20
        senders = [asyncio.create_task(trickle(writer)) for _, writer, _ in held]
        reader, writer, status = await start_form()  # the 21st: limit_conn per address 20
        assert status == b"HTTP/1.1 503 Service Temporarily Unavailable\r\n"
        assert NGINX_PAGE.encode() in await asyncio.wait_for(reader.read(4096), 10)
        writer.close()
        async with browser(proxy, CLIENT) as client:
            response = await client.get("/healthz")
            assert response.status_code == 503 and NGINX_PAGE in response.text
        # Another address is not held back, and uvicorn (room for 5) has all its slots: nginx reads a body in full
        # before it asks uvicorn, so the 20 waiting forms hold none.
        async with browser(proxy, OTHER_CLIENT) as client:
            assert (await log_in(client)).status_code == 303
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        for _, writer, _ in held:
            writer.close()
        async with browser(proxy, CLIENT) as client:
            deadline = time.monotonic() + 10  # until nginx has seen the connections close: a wait, not a measurement
            while (await client.get("/healthz")).status_code != 200:
                assert time.monotonic() < deadline, "the address stayed limited after its connections closed"
                await asyncio.sleep(0.1)


async def test_a_clients_own_x_forwarded_for_is_dropped_and_the_app_sees_each_clients_real_address(tmp_path):
    with running_server(tmp_path, login_client_limit=2, trusted_proxies="127.0.0.1") as server, running_nginx(tmp_path, server) as proxy:
        # From 127.0.0.1, itself a trusted address: with $proxy_add_x_forwarded_for the app would take each forged
        # address as the client, and a new one per guess would never be limited.
        async with browser(proxy) as client:
            statuses = []
            for number in range(3):
                headers = {"X-Forwarded-For": f"198.51.100.{number}"}
                statuses.append((await log_in(client, f"guess{number}@example.com", "wrong password here", headers)).status_code)
            assert statuses == [422, 422, 429]
        # Another client is counted on its own: the app sees its address, not the proxy's.
        async with browser(proxy, OTHER_CLIENT) as client:
            assert (await log_in(client, "guess@example.com", "wrong password here")).status_code == 422


async def test_huge_bodies_and_headers_are_refused_at_the_proxy(tmp_path):
    with running_server(tmp_path, trusted_proxies="127.0.0.1") as server, running_nginx(tmp_path, server) as proxy:
        async with browser(proxy) as client:
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            response = await client.post("/accounts/login", content=b"a" * (100 * 1024), headers=form)
            assert response.status_code == 413 and NGINX_PAGE in response.text  # client_max_body_size 64k (nginx's default: 1m)
            response = await client.get("/", headers={"X-Big": "a" * (20 * 1024)})
            assert response.status_code == 400 and "Request Header Or Cookie Too Large" in response.text
            # What uvicorn takes (a head of up to 16 KiB) passes: nginx's default of 8k a line would refuse it.
            assert (await client.get("/", headers={"Cookie": "other-app=" + "a" * (12 * 1024)})).status_code == 200


async def test_over_https_through_the_proxy_the_session_cookie_is_secure_and_plain_http_redirects(tmp_path):
    with running_server(tmp_path, trusted_proxies="127.0.0.1") as server, running_nginx(tmp_path, server) as proxy:
        await create_user(server)
        async with browser(proxy) as client:
            response = await log_in(client)
            assert response.status_code == 303
            # X-Forwarded-Proto $scheme: the app knows it is served over https.
            cookies = [value.lower() for name, value in response.headers.multi_items() if name == "set-cookie"]
            assert any(cookie.startswith("__host-session=") and "; secure" in cookie for cookie in cookies), cookies
            assert "Hi Ann!" in (await client.get("/")).text
        response = httpx.get(proxy.http + "/accounts/login", headers={"Host": "localhost"})
        assert response.status_code == 301 and response.headers["location"] == "https://localhost/accounts/login"


async def test_the_proxy_passes_the_host_so_the_production_host_check_answers_for_the_site_only(tmp_path):
    production = {"env": "production", "base_url": "https://localhost", "mail_url": "smtp://127.0.0.1:9", "trusted_proxies": "127.0.0.1"}
    with running_server(tmp_path, **production) as server, running_nginx(tmp_path, server) as proxy:
        async with browser(proxy) as client:
            assert (await client.get("/accounts/login", headers={"Host": f"localhost:{proxy.port}"})).status_code == 200
            response = await client.get("/accounts/login", headers={"Host": "other.example"})
            assert response.status_code == 400 and response.text == "This site answers for localhost only."

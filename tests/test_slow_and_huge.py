"""Slow and huge requests, over uvicorn run as `make run` runs it (the Makefile's UVICORN_OPTIONS): a huge header
is refused at once without stalling anyone, and a form trickled in slowly is cut off (408) and its connection closed."""

import asyncio
import contextlib
import time

import httpx

from conftest import running_server

REQUEST_HEAD = b"POST /accounts/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"


async def connect(server):
    return await asyncio.open_connection("127.0.0.1", int(server.rsplit(":", 1)[1]))


async def test_a_1_mb_header_is_refused_at_once_and_other_requests_are_not_stalled(tmp_path):
    with running_server(tmp_path) as server:
        reader, writer = await connect(server)

        async def send_huge_header() -> bytes:
            with contextlib.suppress(ConnectionError):
                writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
                await writer.drain()
            with contextlib.suppress(ConnectionError):
                return await asyncio.wait_for(reader.read(200), 10)
            return b""  # reset: refused too

        started = time.perf_counter()
        huge = asyncio.create_task(send_huge_header())
        async with httpx.AsyncClient(base_url=server) as other:
            for _ in range(5):
                before = time.perf_counter()
                assert (await other.get("/healthz")).status_code == 200
                assert time.perf_counter() - before < 1.0
        answer = await huge
        writer.close()
        # uvicorn's default parser took the megabyte (a 32 MB one took 5 s and stalled others 3 s) and answered 200.
        assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer
        assert time.perf_counter() - started < 5


async def test_a_form_trickled_in_slowly_is_a_408_and_its_connection_is_closed(tmp_path):
    with running_server(tmp_path, form_body_seconds=1) as server:
        reader, writer = await connect(server)
        writer.write(REQUEST_HEAD + b"Content-Length: 200\r\n\r\n")
        started = time.perf_counter()

        async def trickle():
            with contextlib.suppress(ConnectionError):
                for _ in range(200):  # one byte every 0.1 s: 20 s for the form
                    writer.write(b"a")
                    await writer.drain()
                    await asyncio.sleep(0.1)

        sender = asyncio.create_task(trickle())
        answer = await asyncio.wait_for(reader.read(200), 10)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        with contextlib.suppress(ConnectionError):
            while await asyncio.wait_for(reader.read(65536), 10):  # the rest of the page, then the server hangs up
                pass
        assert time.perf_counter() - started < 5
        sender.cancel()
        writer.close()


async def test_past_the_concurrency_limit_uvicorn_answers_503_and_serves_again_once_connections_close(tmp_path):
    # The Makefile's --limit-concurrency 512, made 4 here: connections are counted from when uvicorn accepts them,
    # so idle ones (a client that never sends its request, as a slow one would not) fill it.
    with running_server(tmp_path, limit_concurrency=4) as server:
        idle = [await connect(server) for _ in range(4)]
        async with httpx.AsyncClient(base_url=server, timeout=10) as client:
            deadline = time.monotonic() + 10  # until uvicorn has taken the connections in: a wait, not a measurement
            while (response := await client.get("/healthz", headers={"Connection": "close"})).status_code != 503:
                assert time.monotonic() < deadline, "the idle connections never counted against --limit-concurrency"
                await asyncio.sleep(0.1)
            assert response.text == "Service Unavailable"  # uvicorn's own answer: the app never ran
            for _, writer in idle:
                writer.close()
            deadline = time.monotonic() + 10
            while (response := await client.get("/healthz", headers={"Connection": "close"})).status_code != 200:
                assert time.monotonic() < deadline, f"still {response.status_code} after the idle connections closed"
                await asyncio.sleep(0.1)

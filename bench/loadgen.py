"""The Python fallback load generator, for machines without wrk.

Closed loop like wrk: each of `connections` keep-alive connections sends one
request, waits for the whole response, records its latency, and sends the next,
until `duration` seconds have passed. Prints the same JSON line as bench/wrk.lua.
It shares the machine's cores with the server, so every figure (the floor's
too) comes out lower than with wrk; compare ratios, not absolute numbers.

    python -m bench.loadgen URL [--connections N] [--duration S] [--method M] [--body B] [--header "N: V"]...
"""

import argparse
import asyncio
import json
import re
import time
from urllib.parse import urlsplit

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class Client(asyncio.Protocol):
    def __init__(self, request: bytes, deadline: float, stats: dict, finished: asyncio.Future):
        self.request, self.deadline, self.stats, self.finished = request, deadline, stats, finished
        self.buffer = b""
        self.started = 0.0

    def connection_made(self, transport):
        self.transport = transport
        self.send()

    def send(self):
        self.buffer = b""
        self.started = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data):
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        match = CONTENT_LENGTH.search(self.buffer, 0, head_end + 2)
        length = int(match.group(1)) if match else 0
        if len(self.buffer) < head_end + 4 + length:
            return
        now = time.perf_counter()
        status = int(self.buffer[9:12])
        self.stats["latencies"].append(now - self.started)
        if status >= 400:
            self.stats["status"] += 1
        if now < self.deadline:
            self.send()
        else:
            self.transport.close()

    def connection_lost(self, exc):
        if exc is not None:
            self.stats["read"] += 1
        if not self.finished.done():
            self.finished.set_result(None)


def build_request(url: str, method: str, body: str, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    lines = [f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += headers
    payload = body.encode()
    if payload:
        lines.append(f"Content-Length: {len(payload)}")
    return parts.hostname, parts.port or 80, ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def run(url: str, connections: int, duration: float, method="GET", body="", headers=()) -> dict:
    host, port, request = build_request(url, method, body, list(headers))
    loop = asyncio.get_running_loop()
    stats = {"latencies": [], "status": 0, "read": 0, "connect": 0}
    started = time.perf_counter()
    deadline = started + duration
    finished = []
    for _ in range(connections):
        done = loop.create_future()
        try:
            await loop.create_connection(lambda: Client(request, deadline, stats, done), host, port)
            finished.append(done)
        except OSError:
            stats["connect"] += 1
    # In-flight requests at the deadline still complete (and count), as a grace of at most 30 s.
    await asyncio.wait(finished, timeout=duration + 30)
    elapsed = time.perf_counter() - started
    latencies = sorted(stats["latencies"]) or [0.0]

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1e6

    return {
        "requests": len(stats["latencies"]),
        "duration_us": int(elapsed * 1e6),
        "p50_us": int(percentile(50)),
        "p99_us": int(percentile(99)),
        "mean_us": sum(latencies) / len(latencies) * 1e6,
        "errors": {"connect": stats["connect"], "read": stats["read"], "write": 0, "status": stats["status"], "timeout": 0},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    result = run_loop(run(args.url, args.connections, args.duration, args.method, args.body, args.header))
    print("JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
